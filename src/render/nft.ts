// The nftables table of a network, rendered as text in the exact form `nft list table` prints it,
// so that the live table can be compared with the wanted one by plain text.
import type { Network } from "../config/types.js";
import { subnetOf } from "../ipv4.js";
import { nftTable } from "./names.js";
import { forwardPolicy, type InputRule, type Verdict } from "./policy.js";

/** The whole `table ip kvmnet-NET { ... }`, or null when the network needs no rules. */
export function renderNftTable(net: Network): string | null {
  const p = forwardPolicy(net);
  if (!p) return null;
  const q = (s: string) => `"${s}"`;
  const v = (x: Verdict) => x;
  const match = (r: { iif?: string; oif?: string; saddr?: string; daddr?: string; established?: boolean }) =>
    [
      r.iif && `iifname ${q(r.iif)}`,
      r.oif && `oifname ${q(r.oif)}`,
      r.saddr && `ip saddr ${r.saddr}`,
      r.daddr && `ip daddr ${r.daddr}`,
      r.established && "ct state established,related",
    ].filter(Boolean).join(" ");
  const chain = (name: string, hook: string, prio: string, rules: string[]) =>
    [`\tchain ${name} {`, `\t\ttype ${hook} priority ${prio}; policy accept;`, ...rules.map((r) => `\t\t${r}`), "\t}"];
  const lines = [`table ip ${nftTable(net)} {`, `\tcomment "managed by kvmnet for network ${net.name}; do not edit"`];
  if (p.input.length) {
    const ports = (r: InputRule) => (!r.proto || !r.ports ? "" : ` ${r.proto} dport ${r.ports.length > 1 ? `{ ${r.ports.join(", ")} }` : r.ports[0]}`);
    lines.push(...chain("input", "filter hook input", "filter", p.input.map((r) => `${match(r)}${ports(r)} ${v(r.verdict)}`)));
  }
  lines.push(...chain("forward", "filter hook forward", "filter", p.forward.map((r) => `${match(r)} ${v(r.verdict)}`)));
  if (p.nat) {
    const s = subnetOf(net.address!);
    const to = p.nat.snatTo ? `snat to ${p.nat.snatTo}` : "masquerade";
    const oif = p.nat.oif ? ` oifname ${q(p.nat.oif)}` : "";
    const base = `ip saddr ${s} ip daddr != ${s}${oif}`;
    lines.push(...chain("postrouting", "nat hook postrouting", "srcnat", [
      `ip saddr ${s} ip daddr 224.0.0.0/24 return`,
      `ip saddr ${s} ip daddr 255.255.255.255 return`,
      ...(p.nat.snatTo ? [`${base} ${to}`] : [
        `${base} meta l4proto tcp ${to} to :1024-65535`,
        `${base} meta l4proto udp ${to} to :1024-65535`,
        `${base} ${to}`,
      ]),
    ]));
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** An `nft -f` script that replaces the table atomically (create, delete, create again in one transaction). */
export function nftReplaceScript(net: Network, table: string): string {
  return `table ip ${nftTable(net)}\ndelete table ip ${nftTable(net)}\n${table}`;
}

/** An `nft -f` script that removes the table. */
export function nftDeleteScript(net: Network): string {
  return `delete table ip ${nftTable(net)}\n`;
}
