// A forward chain whose policy is DROP (Docker sets one): traffic kvmnet allows in its own table is still
// dropped there, because an accept in one table does not cancel a drop in another. Only reads rulesets.
import type { Config, Network } from "../../config/types.js";
import { traits } from "../../modes.js";
import { forwardPolicy } from "../../render/policy.js";
import { bridgeNfCallsIptables } from "./kernel.js";
import { brNfFix, fromRulesets, insertCommands, kvmnetJumpsFrom, passBridge, type Seen } from "./rulesets.js";
import { parseIptablesDrop, parseNftDrops } from "./rulesets.js";
import type { DoctorContext, Finding } from "./types.js";

/** A base chain on the forward hook with policy drop, and the interfaces its table accepts traffic of. */
export interface DropChain extends Partial<Seen> {
  family: string;
  table: string;
  chain: string;
  /** "in:NAME" / "out:NAME" for every accept rule matching only an input or output interface, in any chain
   *  of the table (the rules an admin adds to FORWARD or DOCKER-USER to let a bridge through). */
  accepts: string[];
}

/** The forward-hook chains with policy drop in `nft list ruleset` output (kvmnet's own tables excluded). */
export function parseNftForwardDrops(text: string): DropChain[] {
  return parseNftDrops(text, "forward", (line) => {
    const a = /^\s+(?:meta )?(iif|oif|ibr|obr)name "?([^"\s]+)"?(?: counter packets \d+ bytes \d+)? accept$/.exec(line);
    // In a bridge table, ibrname/obrname name the bridge (iifname there is the port): all of it passes.
    return a ? `${{ iif: "in", oif: "out", ibr: "br", obr: "br" }[a[1]!]}:${a[2]}` : null;
  });
}

/** The FORWARD chain of iptables-save output when its policy is DROP. */
export function parseIptablesForwardDrop(text: string): DropChain[] {
  return parseIptablesDrop(text, "FORWARD", (line) => {
    const a = /^-A \S+ -([io]) (\S+) -j ACCEPT$/.exec(line);
    return a ? `${a[1] === "i" ? "in" : "out"}:${a[2]}` : null;
  });
}

/** The configured networks whose traffic DROP would drop. BRNF: bridged frames pass the ip forward hook. */
export function affectedBy(drop: DropChain, config: Config, brNf: boolean): Network[] {
  if (drop.family !== "ip" && drop.family !== "inet" && drop.family !== "bridge") return [];
  return config.networks.filter((n) => {
    if (drop.accepts.includes(`in:${n.bridge}`) && drop.accepts.includes(`out:${n.bridge}`)) return false;
    if (drop.accepts.includes(`br:${n.bridge}`)) return false;
    if (drop.family === "bridge") return true;
    // With firewall = iptables kvmnet's chain is jumped from the top of this very chain and accepts first.
    if (config.firewall === "iptables" && kvmnetJumpsFrom(drop, "FORWARD") && forwardPolicy(n)) return false;
    if (traits(n).forwarding) return true;
    return brNf;
  });
}

/** Every forward chain with policy drop, from nft and iptables-save, and which networks it breaks. */
export function checkForwardDrop(ctx: DoctorContext): Finding[] {
  const drops = fromRulesets(ctx, { nft: parseNftForwardDrops, iptables: parseIptablesForwardDrop });
  if (!drops)
    return [
      {
        id: "forward-drop",
        level: "skip",
        message: "could not read the ruleset (neither nft list ruleset nor iptables-save ran)",
      },
    ];
  const unique = drops;
  if (!unique.length) return [{ id: "forward-drop", level: "ok", message: "no forward chain has policy drop" }];
  const brNf = bridgeNfCallsIptables(ctx);
  return unique.map((d) => {
    const hit = ctx.config ? affectedBy(d, ctx.config, brNf) : [];
    const where = `${d.family} ${d.table} chain ${d.chain}`;
    if (!hit.length)
      return {
        id: "forward-drop",
        level: "ok",
        message: `${where} has policy drop; no kvmnet network's traffic is dropped there`,
      };
    const brs = hit.map((n) => n.bridge);
    const docker = d.family === "ip" && d.table === "filter" && d.chain === "FORWARD";
    const rules = insertCommands(
      d,
      brs.flatMap((b) => passBridge(d, b)),
    );
    return {
      id: "forward-drop",
      level: "fail",
      networks: hit.map((n) => n.name),
      message: `${where} has policy drop${docker ? " (Docker sets it)" : ""}: forwarded traffic of ${hit.map((n) => n.name).join(", ")} is dropped there, whatever kvmnet's own rules allow`,
      fix:
        `let the bridge${brs.length > 1 ? "s" : ""} through in that chain: ${rules.join("; ")}` +
        (docker
          ? `; with Docker, put them where Docker keeps them: ${brs.map((b) => `iptables -I DOCKER-USER -i ${b} -j ACCEPT; iptables -I DOCKER-USER -o ${b} -j ACCEPT`).join("; ")}` +
            (ctx.config?.firewall !== "iptables"
              ? "; or set firewall = iptables in [global], whose chain is jumped from the top of FORWARD"
              : "")
          : "") +
        brNfFix(d, hit),
    };
  });
}
