// The iptables backend: a network's own chains, jumped to from the built-in chains, rendered in the exact
// form `iptables-save` prints, so that the live chains can be compared with the wanted ones line by line.
// Forwarding is split in two chains, as libvirt does: every network's forward-in chain (what may enter its
// bridge) is jumped to before any network's forward-out chain (what may leave). In one FORWARD chain the
// first ACCEPT wins, so a NAT network's "from my bridge: accept" must not come before a closed network's
// "into my bridge: reject". (nftables needs no such care: there, every table must accept.)
import type { Network } from "../config/types.js";
import { subnetOf } from "../ipv4.js";
import { FORWARD_IN_PREFIX, FORWARD_OUT_PREFIX, iptablesChains } from "./names.js";
import { forwardPolicy, type InputRule, type Rule } from "./policy.js";

/** Rules of one table: chain name → its `-A` lines; `jumps` pairs built-in chain → our chain. */
export interface IptablesTable {
  table: "filter" | "nat";
  chains: Record<string, string[]>;
  jumps: [builtin: string, chain: string][];
}

/** The wanted chains of NET, per table; empty when it needs no rules. */
export function renderIptables(net: Network): IptablesTable[] {
  const p = forwardPolicy(net);
  if (!p) return [];
  const c = iptablesChains(net);
  const filter: IptablesTable = { table: "filter", chains: {}, jumps: [] };
  if (p.input.length) {
    filter.chains[c.input] = p.input.flatMap((r) => inputLines(c.input, r));
    filter.jumps.push(["INPUT", c.input]);
  }
  const into = p.forward.filter((r) => r.oif === net.bridge);
  const out = p.forward.filter((r) => r.oif !== net.bridge);
  filter.chains[c.forwardIn] = into.map((r) => `-A ${c.forwardIn}${match(r)}${target(r)}`);
  filter.chains[c.forwardOut] = out.map((r) => `-A ${c.forwardOut}${match(r)}${target(r)}`);
  filter.jumps.push(["FORWARD", c.forwardIn], ["FORWARD", c.forwardOut]);
  const tables = [filter];
  if (p.nat) {
    const s = subnetOf(net.address!);
    const ch = c.postrouting;
    const base = `-A ${ch} -s ${s} ! -d ${s}${p.nat.oif ? ` -o ${p.nat.oif}` : ""}`;
    const rules = [`-A ${ch} -s ${s} -d 224.0.0.0/24 -j RETURN`, `-A ${ch} -s ${s} -d 255.255.255.255/32 -j RETURN`];
    if (p.nat.snatTo) rules.push(`${base} -j SNAT --to-source ${p.nat.snatTo}`);
    else rules.push(`${base} -p tcp -j MASQUERADE --to-ports 1024-65535`, `${base} -p udp -j MASQUERADE --to-ports 1024-65535`, `${base} -j MASQUERADE`);
    tables.push({ table: "nat", chains: { [ch]: rules }, jumps: [["POSTROUTING", ch]] });
  }
  return tables;
}

// iptables-save prints matches in this order: -s, -d, -i, -o, -p, then modules, then the target.
function match(r: Rule): string {
  return [
    r.saddr && ` -s ${r.saddr}`,
    r.daddr && ` -d ${r.daddr}`,
    r.iif && ` -i ${r.iif}`,
    r.oif && ` -o ${r.oif}`,
    r.established && " -m conntrack --ctstate RELATED,ESTABLISHED",
  ].filter(Boolean).join("");
}

function target(r: Rule): string {
  switch (r.verdict) {
    case "accept": return " -j ACCEPT";
    case "drop": return " -j DROP";
    case "reject": return " -j REJECT --reject-with icmp-port-unreachable";
  }
}

function inputLines(chain: string, r: InputRule): string[] {
  if (!r.proto || !r.ports) return [`-A ${chain}${match(r)}${target(r)}`];
  return r.ports.map((port) => `-A ${chain}${match(r)} -p ${r.proto} -m ${r.proto} --dport ${port}${target(r)}`);
}

/** An `iptables-restore --noflush` script that (re)writes our chains and adds the jumps in MISSING.
 *  FORWARD is what the filter table's FORWARD chain jumps to now, rule by rule (see forwardJumps), or just how
 *  many forward-in jumps sit at its top: a new forward-in jump goes to the top, a new forward-out jump right
 *  after the last forward-in one, and forward-in jumps found below a forward-out one are moved up. */
export function iptablesUpScript(tables: IptablesTable[], missingJumps: Set<string>, forward: string[] | number = 0): string {
  const now = typeof forward === "number" ? Array<string>(forward).fill(FORWARD_IN_PREFIX) : forward;
  return tables.map((t) => {
    const add = t.jumps.filter(([b, ch]) => missingJumps.has(`${b} ${ch}`));
    const fwd = add.filter(([b]) => b === "FORWARD").map(([, ch]) => ch);
    return [
      `*${t.table}`,
      ...Object.keys(t.chains).map((ch) => `:${ch} - [0:0]`),
      ...Object.values(t.chains).flat(),
      ...add.filter(([b]) => b !== "FORWARD").map(([b, ch]) => `-I ${b} 1 -j ${ch}`),
      ...(t.table === "filter" ? forwardEdits(now, fwd) : []),
      "COMMIT",
    ].join("\n");
  }).join("\n") + "\n";
}

const isIn = (target: string) => target.startsWith(FORWARD_IN_PREFIX);
const isOut = (target: string) => target.startsWith(FORWARD_OUT_PREFIX);

/** True when some network's forward-in jump sits below some forward-out jump in FORWARD (as FORWARD_JUMPS
 *  lists it): a NAT network's "from my bridge: accept" then wins over a closed network's reject. Two hooks
 *  racing, or an older kvmnet, can leave it so; the next run repairs it. */
export function forwardOrderBroken(forwardJumps: string[]): boolean {
  const firstOut = forwardJumps.findIndex(isOut);
  return firstOut >= 0 && forwardJumps.slice(firstOut).some(isIn);
}

// The FORWARD edits, by rule number against NOW as observed (kvmnet's host lock keeps it still meanwhile):
// misplaced forward-in jumps deleted bottom up and put back on top, then ADD's forward-in jumps on top and its
// forward-out jumps right after the last forward-in jump.
function forwardEdits(now: string[], add: string[]): string[] {
  const list = [...now];
  const edits: string[] = [];
  const firstOut = list.findIndex(isOut);
  const moved: string[] = [];
  for (let i = list.length - 1; firstOut >= 0 && i > firstOut; i--) {
    if (!isIn(list[i]!)) continue;
    edits.push(`-D FORWARD ${i + 1}`);
    moved.push(...list.splice(i, 1));
  }
  for (const ch of [...new Set(moved), ...add.filter(isIn)]) {
    if (list.includes(ch)) continue;
    edits.push(`-I FORWARD 1 -j ${ch}`);
    list.unshift(ch);
  }
  for (const ch of add.filter((c) => !isIn(c))) {
    let at = list.length;
    while (at > 0 && !isIn(list[at - 1]!)) at--;
    edits.push(`-I FORWARD ${at + 1} -j ${ch}`);
    list.splice(at, 0, ch);
  }
  return edits;
}

/** The key under which a jump is tracked: "BUILTIN CHAIN". */
export function jumpKey(builtin: string, chain: string): string {
  return `${builtin} ${chain}`;
}

/** An `iptables-restore --noflush` script that removes the observed JUMPS (each occurrence) and CHAINS. */
export function iptablesDownScript(present: { table: string; jumps: string[]; chains: string[] }[]): string {
  return present.filter((t) => t.jumps.length || t.chains.length).map((t) => [
    `*${t.table}`,
    ...t.jumps.map((j) => { const [b, ch] = j.split(" "); return `-D ${b} -j ${ch}`; }),
    ...t.chains.map((ch) => `-F ${ch}`),
    ...t.chains.map((ch) => `-X ${ch}`),
    "COMMIT",
  ].join("\n")).join("\n") + "\n";
}
