// The iptables backend: one jump from each built-in chain into kvmnet's own dispatch chains, which hand a packet
// to the chains of the network whose bridge (or subnet) it touches. Rendered in the exact form `iptables-save`
// prints, so live and wanted rules compare line by line.
//
// FORWARD -j KVMNET-FORWARD, which is always `-j KVMNET-FROM` then `-j KVMNET-TO`:
//   KVMNET-FROM: `-i BR -j KVMNET-FWO-NET` for each network; that chain ends in ACCEPT or REJECT, except that
//     what its network lets out goes to KVMNET-PASS: `-j KVMNET-TO` (the destination's network decides, if it is
//     one of kvmnet's), then ACCEPT.
//   KVMNET-TO: `-o BR -j KVMNET-FWI-NET`, whose chain ends in ACCEPT or REJECT.
// So a packet passes the rules of both networks it touches, as with nftables, and no order of jumps between
// networks can matter: the order problem of one FORWARD chain shared by all networks cannot arise. iptables has
// no verdict maps, so the dispatch is one interface comparison per network (a cheap match done by the rule core,
// no extension), instead of every network's whole chains as before.
import type { Network } from "../../config/types.js";
import { dispatchOf, type DispatchRule } from "../../render/dispatch.js";
import { IPT, iptablesChains } from "../../core/names.js";
import type { InputRule } from "../../render/policy.js";

/** Tables kvmnet writes to. */
export type IptTable = "filter" | "nat";

/** A rule in one of kvmnet's shared dispatch chains (`-A CHAIN ...` as iptables-save prints it). */
export interface IptEntry {
  table: IptTable;
  chain: string;
  rule: string;
}

/** What NET owns: its chains per table (name → `-A` lines) and its entries in the dispatch chains. */
export interface IptablesNetwork {
  chains: Record<IptTable, Record<string, string[]>>;
  entries: IptEntry[];
}

/** The shared chains whose content is fixed, and the built-in chain that jumps to each entry chain. */
export const IPT_FIXED: Record<string, string[]> = {
  [IPT.forward]: [`-A ${IPT.forward} -j ${IPT.from}`, `-A ${IPT.forward} -j ${IPT.to}`],
  [IPT.pass]: [`-A ${IPT.pass} -j ${IPT.to}`, `-A ${IPT.pass} -j ACCEPT`],
};
/** Shared chains per table: the ones built-in chains jump to, and the dispatch chains. */
export const IPT_SHARED: Record<IptTable, string[]> = {
  filter: [IPT.input, IPT.forward, IPT.from, IPT.to, IPT.pass],
  nat: [IPT.postrouting],
};
/** Built-in chain → kvmnet's entry chain, per table. */
export const IPT_JUMPS: Record<IptTable, [builtin: string, chain: string][]> = {
  filter: [
    ["INPUT", IPT.input],
    ["FORWARD", IPT.forward],
  ],
  nat: [["POSTROUTING", IPT.postrouting]],
};

// iptables-save prints matches in this order: -s, -d, -i, -o, -p, then modules, then the target.
function match(r: DispatchRule | InputRule): string {
  return [
    r.saddr && ` -s ${r.saddr}`,
    r.daddr && ` -d ${r.daddr}`,
    r.iif && ` -i ${r.iif}`,
    r.oif && ` -o ${r.oif}`,
    r.established && " -m conntrack --ctstate RELATED,ESTABLISHED",
  ]
    .filter(Boolean)
    .join("");
}

function target(r: DispatchRule | InputRule): string {
  switch (r.verdict) {
    case "accept":
      return " -j ACCEPT";
    case "drop":
      return " -j DROP";
    case "reject":
      return " -j REJECT --reject-with icmp-port-unreachable";
    case "pass":
      return ` -j ${IPT.pass}`;
  }
}

function inputLines(chain: string, r: InputRule): string[] {
  if (!r.proto || !r.ports) return [`-A ${chain}${match(r)}${target(r)}`];
  return r.ports.map((port) => `-A ${chain}${match(r)} -p ${r.proto} -m ${r.proto} --dport ${port}${target(r)}`);
}

/** NET's chains and dispatch entries, or null when it needs no rules. */
export function renderIptables(net: Network): IptablesNetwork | null {
  const d = dispatchOf(net);
  if (!d) return null;
  const c = iptablesChains(net);
  const out: IptablesNetwork = { chains: { filter: {}, nat: {} }, entries: [] };
  const f = out.chains.filter;
  if (d.input.length) {
    f[c.input] = d.input.flatMap((r) => inputLines(c.input, r));
    out.entries.push({ table: "filter", chain: IPT.input, rule: `-A ${IPT.input} -i ${d.bridge} -j ${c.input}` });
  }
  f[c.forwardOut] = d.from.map((r) => `-A ${c.forwardOut}${match(r)}${target(r)}`);
  f[c.forwardIn] = d.to.map((r) => `-A ${c.forwardIn}${match(r)}${target(r)}`);
  out.entries.push(
    { table: "filter", chain: IPT.from, rule: `-A ${IPT.from} -i ${d.bridge} -j ${c.forwardOut}` },
    { table: "filter", chain: IPT.to, rule: `-A ${IPT.to} -o ${d.bridge} -j ${c.forwardIn}` },
  );
  if (d.nat) {
    const s = d.nat.subnet;
    const ch = c.postrouting;
    const base = `-A ${ch} ! -d ${s}${d.nat.oif ? ` -o ${d.nat.oif}` : ""}`;
    out.chains.nat[ch] = [
      `-A ${ch} -d 224.0.0.0/24 -j RETURN`,
      `-A ${ch} -d 255.255.255.255/32 -j RETURN`,
      ...(d.nat.snatTo
        ? [`${base} -j SNAT --to-source ${d.nat.snatTo}`]
        : [
            `${base} -p tcp -j MASQUERADE --to-ports 1024-65535`,
            `${base} -p udp -j MASQUERADE --to-ports 1024-65535`,
            `${base} -j MASQUERADE`,
          ]),
    ];
    out.entries.push({ table: "nat", chain: IPT.postrouting, rule: `-A ${IPT.postrouting} -s ${s} -j ${ch}` });
  }
  return out;
}
