// An input chain whose policy is DROP (a host firewall: nft input policy drop, `iptables -P INPUT DROP`):
// guests' DHCP and DNS to kvmnet's dnsmasq are dropped there whatever kvmnet's own table accepts, because
// an accept in one table does not cancel a drop in another. Only reads rulesets.
import type { Config, Network } from "../config/types.js";
import { fromRulesets, insertCommands, kvmnetJumpsFrom, parseIptablesDrop, parseNftDrops } from "./rulesets.js";
import type { Seen } from "./rulesets.js";
import type { DoctorContext, Finding } from "./finding.js";
import { firewallBackend } from "../firewall/choose-backend.js";

/** A base chain on the input hook with policy drop, and the interfaces it lets DHCP through from. */
export interface InputDrop extends Partial<Seen> {
  family: string;
  table: string;
  chain: string;
  /** Bridges whose DHCP the table accepts ("*" for a rule accepting udp 67 from any interface). */
  accepts: string[];
}

// A rule lets DHCP through from IF: `iifname "IF" accept`, optionally narrowed to udp port 67 (alone or in a set).
const NFT_ACCEPT =
  /^\s+(?:(?:meta )?(?:iifname|ibrname) "?([^"\s]+)"? )?(?:(?:udp|meta l4proto udp) dport (?:67|\{[^}]*\b67\b[^}]*\}) )?(?:counter packets \d+ bytes \d+ )?accept$/;

/** The input-hook chains with policy drop in `nft list ruleset` output (kvmnet's own tables excluded). */
export function parseNftInputDrops(text: string): InputDrop[] {
  const drops = parseNftDrops(text, "input", (line) => {
    const a = NFT_ACCEPT.exec(line);
    return a && (a[1] || /dport/.test(line)) ? (a[1] ?? "*") : null;
  });
  return drops.filter((d) => d.family === "ip" || d.family === "inet" || d.family === "bridge");
}

/** The filter table's INPUT chain of iptables-save output when its policy is DROP. */
export function parseIptablesInputDrop(text: string): InputDrop[] {
  return parseIptablesDrop(text, "INPUT", (line) => {
    const a =
      /^-A \S+ (?:-i (\S+) )?(?:-p udp (?:-m udp --dport 67|-m multiport --dports (?:\d+,)*67(?:,\d+)*) )?-j ACCEPT$/.exec(
        line,
      );
    return a && (a[1] || /--dports? /.test(line)) ? (a[1] ?? "*") : null;
  });
}

/** The networks whose DHCP the chain DROP drops; in a bridge table, every network whose guests talk to the host's
 *  address (a bridge's input hook sees all they send to the host, forwarded traffic included). */
export function inputAffected(drop: InputDrop, config: Config): Network[] {
  return config.networks.filter((n) => {
    if (drop.family === "bridge") return !!n.address && !drop.accepts.includes(n.bridge);
    if (!n.dhcpRange) return false;
    if (drop.accepts.includes("*") || drop.accepts.includes(n.bridge)) return false;
    // A backend whose chain is jumped from the top of this very chain (iptables) accepts first.
    return !(firewallBackend(config.firewall).caps.firstInBuiltins && kvmnetJumpsFrom(drop, "INPUT"));
  });
}

/** Every input chain with policy drop, from nft and iptables-save, and whose DHCP and DNS it drops. */
export function checkInputDrop(ctx: DoctorContext): Finding[] {
  const drops = fromRulesets(ctx, { nft: parseNftInputDrops, iptables: parseIptablesInputDrop });
  if (!drops)
    return [
      {
        id: "input-drop",
        level: "skip",
        message: "could not read the ruleset (neither nft list ruleset nor iptables-save ran)",
      },
    ];
  const unique = drops;
  if (!unique.length) return [{ id: "input-drop", level: "ok", message: "no input chain has policy drop" }];
  return unique.map((d) => {
    const hit = ctx.config ? inputAffected(d, ctx.config) : [];
    const where = `${d.family} ${d.table} chain ${d.chain}`;
    if (!hit.length)
      return {
        id: "input-drop",
        level: "ok",
        message: `${where} has policy drop; it lets every kvmnet network's DHCP through`,
      };
    const brs = hit.map((n) => n.bridge);
    const ipt = kvmnetJumpsFrom(d, "INPUT");
    const fix = insertCommands(
      d,
      brs.flatMap((b) =>
        d.family === "bridge"
          ? [{ nft: `meta ibrname ${b} accept`, ipt: "" }]
          : [
              { nft: `iifname ${b} udp dport { 53, 67 } accept`, ipt: `-i ${b} -p udp -m multiport --dports 53,67` },
              { nft: `iifname ${b} tcp dport 53 accept`, ipt: `-i ${b} -p tcp --dport 53` },
            ],
      ),
    );
    const what =
      d.family === "bridge"
        ? `everything the guests of ${hit.map((n) => n.name).join(", ")} send to or through the host (DHCP, DNS, forwarded traffic) is dropped there`
        : `DHCP and DNS from the guests of ${hit.map((n) => n.name).join(", ")} to kvmnet's dnsmasq are dropped there (guests get no lease)`;
    return {
      id: "input-drop",
      level: "fail",
      networks: hit.map((n) => n.name),
      message: `${where} has policy drop: ${what}, whatever kvmnet's own rules allow`,
      fix:
        `let the bridge${brs.length > 1 ? "s" : ""} through in that chain (and persist it in your firewall's config): ${fix.join("; ")}` +
        (ipt && !(ctx.config && firewallBackend(ctx.config.firewall).caps.firstInBuiltins)
          ? "; or set firewall = iptables in [global], whose chain is jumped from the top of INPUT"
          : ""),
    };
  });
}
