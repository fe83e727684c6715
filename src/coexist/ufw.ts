// ufw: enabled, its default "deny (routed)" (FORWARD policy DROP) and "deny (incoming)" (INPUT policy DROP) drop
// the guests' forwarded traffic and their DHCP and DNS to kvmnet's dnsmasq, whatever kvmnet's own table accepts.
// The fix goes through ufw itself (`ufw route allow ...`, `ufw allow ...`): rules added beside ufw's are lost on
// its next reload. Judged from ufw's own files (free to read, so the hooks can too) and, when read, the live
// ruleset (ufw's chains, the policies in force).
import type { Config, Network } from "../config/types.js";
import { traits } from "../modes.js";
import { forwardPolicy } from "../render/policy.js";
import { readRulesets } from "./rulesets.js";
import { bridgeNfCallsIptables, type DoctorContext, type Finding } from "./finding.js";
import { firewallBackend } from "../firewall/choose-backend.js";

/** ufw as far as kvmnet cares: on or not, which default policies drop, and the user rules it loads. */
export interface UfwState {
  /** ENABLED=yes in ufw.conf, or ufw's chains in the live ruleset. */
  active: boolean;
  forwardDrop: boolean;
  inputDrop: boolean;
  /** `-A ufw-user-input ...` / `-A ufw-user-forward ...` lines, from user.rules and the live ruleset. */
  rules: string[];
}

/** A forward path to let through (undefined: any interface), or an input port. */
type Need =
  { kind: "route"; in?: string; out?: string } | { kind: "port"; in: string; proto: "udp" | "tcp"; port: number };

const BLOCKS = /^(DROP|REJECT)$/;

/** ufw's state from its files and, when read, the iptables-save text (either variant) holding its chains. */
export function ufwState(files: (path: string) => string | null, live: (string | null)[]): UfwState | null {
  const conf = files("/etc/ufw/ufw.conf");
  const text = live.find((t) => t !== null && /^:ufw-user-input /m.test(t)) ?? null;
  if (conf === null && text === null) return null;
  const defaults = files("/etc/default/ufw") ?? "";
  const policy = (key: string, chain: string) => {
    const inForce = text !== null ? new RegExp(`^:${chain} (\\S+) `, "m").exec(text)?.[1] : undefined;
    const configured = new RegExp(`^${key}="?(\\w+)"?`, "m").exec(defaults)?.[1] ?? "DROP";
    return BLOCKS.test(inForce ?? configured);
  };
  const rules = [files("/etc/ufw/user.rules") ?? "", text ?? ""]
    .flatMap((t) => t.split("\n"))
    .filter((l) => /^-A ufw-user-(input|forward) /.test(l))
    .map((l) => l.replace(/ -m comment --comment ("[^"]*"|\S+)/, ""));
  return {
    active: /^ENABLED=yes\s*$/m.test(conf ?? "") || text !== null,
    forwardDrop: policy("DEFAULT_FORWARD_POLICY", "FORWARD"),
    inputDrop: policy("DEFAULT_INPUT_POLICY", "INPUT"),
    rules,
  };
}

/** What ufw must let through for NET (BRNF: bridged frames pass the IPv4 hooks). */
export function ufwNeeds(ufw: UfwState, net: Network, config: Config, brNf: boolean): Need[] {
  const br = net.bridge;
  const up = net.uplink;
  const needs: Need[] = [];
  // A backend whose chains are jumped from the top of INPUT and FORWARD (iptables) comes before ufw's.
  const ours = firewallBackend(config.firewall).caps.firstInBuiltins && forwardPolicy(net) !== null;
  if (ufw.inputDrop && net.dhcpRange && !ours) {
    needs.push({ kind: "port", in: br, proto: "udp", port: 67 });
    needs.push({ kind: "port", in: br, proto: "udp", port: 53 }, { kind: "port", in: br, proto: "tcp", port: 53 });
  }
  if (ufw.forwardDrop && !ours) {
    const t = traits(net);
    // Replies come back through ufw's own RELATED,ESTABLISHED accept (ufw-before-forward).
    if (t.forwarding) needs.push({ kind: "route", in: br, ...(up ? { out: up } : {}) });
    if (t.forwarding && !t.nat) needs.push({ kind: "route", ...(up ? { in: up } : {}), out: br });
    // Guest to guest on the bridge meets the forward hook only through br_netfilter.
    if (brNf && (!t.forwarding || up)) needs.push({ kind: "route", in: br, out: br });
  }
  return needs.filter((n) => !ufw.rules.some((r) => grants(r, n)));
}

// Does the ufw user rule R (as iptables prints it) let NEED through?
function grants(r: string, need: Need): boolean {
  if (need.kind === "route") {
    const m = /^-A ufw-user-forward(?: -i (\S+))?(?: -o (\S+))? -j ACCEPT$/.exec(r);
    return !!m && (!m[1] || m[1] === need.in) && (!m[2] || m[2] === need.out);
  }
  const m =
    /^-A ufw-user-input(?: -i (\S+))?(?: -p (udp|tcp))?(?: -m (?:udp|tcp))?(?: --dport (\d+)| -m multiport --dports ([\d,]+))? -j ACCEPT$/.exec(
      r,
    );
  if (!m || (m[1] && m[1] !== need.in) || (m[2] && m[2] !== need.proto)) return false;
  const ports = m[3] ? [m[3]] : m[4] ? m[4].split(",") : null;
  return !ports || ports.includes(String(need.port));
}

/** The ufw commands that let NEEDS through. */
export function ufwCommands(needs: Need[]): string[] {
  const out: string[] = [];
  for (const n of needs) {
    if (n.kind === "route") {
      out.push(`ufw route allow${n.in ? ` in on ${n.in}` : ""}${n.out ? ` out on ${n.out}` : ""}`);
      continue;
    }
    const both = n.port === 53 && needs.some((o) => o.kind === "port" && o.in === n.in && o.port === 53 && o !== n);
    if (both && n.proto === "tcp") continue;
    out.push(`ufw allow in on ${n.in} to any port ${n.port}${both ? "" : ` proto ${n.proto}`}`);
  }
  return out;
}

/** ufw enabled with a deny that drops a configured network's traffic, and the ufw commands that let it through. */
export function checkUfw(ctx: DoctorContext): Finding {
  const r = readRulesets(ctx);
  const ufw = ufwState(ctx.read, [r.iptables, r.legacy]);
  if (!ufw) return { id: "ufw", level: "ok", message: "ufw is not installed" };
  if (!ufw.active) return { id: "ufw", level: "ok", message: "ufw is installed but not enabled" };
  const brNf = bridgeNfCallsIptables(ctx);
  const hit = (ctx.config?.networks ?? [])
    .map((n) => ({ n, needs: ufwNeeds(ufw, n, ctx.config!, brNf) }))
    .filter((h) => h.needs.length);
  const denies = [ufw.forwardDrop ? "deny (routed)" : "", ufw.inputDrop ? "deny (incoming)" : ""].filter(Boolean);
  if (!hit.length)
    return {
      id: "ufw",
      level: "ok",
      message: `ufw is active${denies.length ? ` (${denies.join(", ")})` : ""}; it lets every kvmnet network through`,
    };
  const what = hit.map(({ n, needs }) => {
    const parts = [
      needs.some((x) => x.kind === "route" && x.in !== x.out) ? "forwarded traffic" : "",
      needs.some((x) => x.kind === "route" && x.in === x.out) ? "traffic between its guests (br_netfilter)" : "",
      needs.some((x) => x.kind === "port") ? "DHCP and DNS to kvmnet's dnsmasq" : "",
    ].filter(Boolean);
    return `${n.name} (${parts.join(", ")})`;
  });
  return {
    id: "ufw",
    level: "fail",
    networks: hit.map((h) => h.n.name),
    message: `ufw is active with ${denies.join(" and ")}: it drops the traffic of ${what.join("; ")}, whatever kvmnet's own rules allow`,
    fix: `let the bridge${hit.length > 1 ? "s" : ""} through with ufw itself (it keeps these across reloads): ${hit
      .flatMap((h) => ufwCommands(h.needs))
      .join("; ")}`,
  };
}
