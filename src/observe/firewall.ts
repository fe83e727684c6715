// Observing kvmnet's own firewall objects, one process per backend: `nft list table` or `iptables-save`.
import type { Firewall, Network } from "../config/types.js";
import { CommandError } from "../errors.js";
import { showCommand, type Exec } from "../apply/exec.js";
import { iptablesChains, nftTable } from "../render/names.js";

/** Our firewall objects as found: nft table text, or iptables chain lines and jumps per table, and what
 *  the filter table's FORWARD chain jumps to, rule by rule ("" for a rule that is not a plain jump). */
export type FirewallState =
  | { backend: "nftables"; table: string | null }
  | { backend: "iptables"; tables: Record<string, { chains: Record<string, string[]>; jumps: string[] }>; forward: string[] };

/** Read what exists of NET's rules with the configured backend. */
export function observeFirewall(exec: Exec, backend: Firewall, net: Network): FirewallState {
  if (backend === "nftables") {
    const args = ["list", "table", "ip", nftTable(net)];
    const r = exec.tryRun("nft", args);
    if (r.ok) return { backend, table: r.stdout };
    // `nft list table` fails when the table is absent; that is an answer, not an error.
    if (/No such file or directory/.test(r.stderr)) return { backend, table: null };
    throw new CommandError(showCommand("nft", args), r.code, r.stderr);
  }
  const r = exec.tryRun("iptables-save", []);
  if (!r.ok) throw new CommandError("iptables-save", r.code, r.stderr);
  return { backend, tables: parseIptablesSave(r.stdout, Object.values(iptablesChains(net))), forward: forwardJumps(r.stdout) };
}

/** From iptables-save output, the target of each rule of the filter table's FORWARD chain, in order ("" for
 *  a rule that is not a plain `-j CHAIN`): where every network's forward-in and forward-out jumps sit. */
export function forwardJumps(text: string): string[] {
  let filter = false;
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) filter = line === "*filter";
    else if (filter && line.startsWith("-A FORWARD ")) out.push(/^-A FORWARD -j (\S+)$/.exec(line)?.[1] ?? "");
  }
  return out;
}

/** From iptables-save output, the rules of CHAINS and the jumps to them, per table. */
export function parseIptablesSave(text: string, chains: string[]) {
  const tables: Record<string, { chains: Record<string, string[]>; jumps: string[] }> = {};
  let cur: { chains: Record<string, string[]>; jumps: string[] } | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) cur = tables[line.slice(1)] = { chains: {}, jumps: [] };
    if (!cur) continue;
    const decl = /^:(\S+) /.exec(line);
    if (decl && chains.includes(decl[1]!)) cur.chains[decl[1]!] ??= [];
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (!rule) continue;
    if (chains.includes(rule[1]!)) (cur.chains[rule[1]!] ??= []).push(line);
    const jump = /^-j (\S+)$/.exec(rule[2]!);
    if (jump && chains.includes(jump[1]!)) cur.jumps.push(`${rule[1]} ${jump[1]}`);
  }
  return tables;
}
