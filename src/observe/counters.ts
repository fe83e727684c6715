// kvmnet's rule counters, read for `kvmnet metrics` (never on a hook's path): with nftables the named counters of
// kvmnet's table (one `nft -j list counters table inet kvmnet`), with iptables the per-rule counters of
// kvmnet's chains (one `iptables-save -c`), summed into the same four per network.
import type { Firewall, Network } from "../config/types.js";
import { CommandError } from "../errors.js";
import { showCommand, type Exec } from "../host/exec.js";
import { iptablesChains, NFT_TABLE } from "../core/names.js";
import { nftCounters } from "../firewall/nft/render.js";

/** Packets and bytes of one counter. */
export interface Count {
  packets: number;
  bytes: number;
}

/** A network's counters: forwarded out of its bridge and allowed, into it and allowed, from the bridge to itself,
 *  source-NATed (connections), forwarded and rejected. */
export type RuleCounts = Record<keyof ReturnType<typeof nftCounters>, Count>;

/** Parse `nft -j list counters ...`: counter name → values. */
export function parseNftCounters(json: string): Map<string, Count> {
  const out = new Map<string, Count>();
  const doc = JSON.parse(json) as { nftables?: { counter?: { name: string; packets: number; bytes: number } }[] };
  for (const o of doc.nftables ?? [])
    if (o.counter) out.set(o.counter.name, { packets: o.counter.packets, bytes: o.counter.bytes });
  return out;
}

const zero = (): RuleCounts => ({
  from: { packets: 0, bytes: 0 },
  to: { packets: 0, bytes: 0 },
  cross: { packets: 0, bytes: 0 },
  nat: { packets: 0, bytes: 0 },
  reject: { packets: 0, bytes: 0 },
});

/** NET's counters among the nft counters FOUND; null when the network has none (its rules are not in place). */
export function nftRuleCounts(net: Network, found: Map<string, Count>): RuleCounts | null {
  const names = nftCounters(net);
  if (![...Object.values(names)].some((n) => found.has(n))) return null;
  const out = zero();
  for (const [k, name] of Object.entries(names))
    out[k as keyof RuleCounts] = found.get(name) ?? { packets: 0, bytes: 0 };
  return out;
}

// An `iptables-save -c` rule line: `[PACKETS:BYTES] -A CHAIN ... -j TARGET ...`.
const RULE = /^\[(\d+):(\d+)\] -A (\S+) (?:.* )?-j (\S+)/;

/** NET's counters summed from `iptables-save -c` TEXT (chains KVMNET-FWO-NET, -FWI-NET, -PRT-NET); null when its
 *  chains are not there. */
export function iptablesRuleCounts(net: Network, text: string): RuleCounts | null {
  const c = iptablesChains(net);
  const out = zero();
  let seen = false;
  for (const line of text.split("\n")) {
    const m = RULE.exec(line);
    if (!m) continue;
    const [, p, b, chain, target] = m;
    const kind = ruleKind(net, chain!, target!, line);
    if (chain === c.forwardOut || chain === c.forwardIn || chain === c.postrouting) seen = true;
    if (!kind) continue;
    out[kind].packets += Number(p);
    out[kind].bytes += Number(b);
  }
  return seen ? out : null;
}

// Which of NET's counters the rule LINE (in CHAIN, jumping to TARGET) counts into, if any. In the forward-out
// chain an accept with `-o BRIDGE` is the bridge to itself.
function ruleKind(net: Network, chain: string, target: string, line: string): keyof RuleCounts | null {
  const c = iptablesChains(net);
  if (chain === c.postrouting) return target === "MASQUERADE" || target === "SNAT" ? "nat" : null;
  if (chain !== c.forwardOut && chain !== c.forwardIn) return null;
  if (target === "REJECT") return "reject";
  if (chain === c.forwardIn) return "to";
  return line.includes(` -o ${net.bridge} `) ? "cross" : "from";
}

/** Read the counters of every network in NETS with BACKEND: one process. */
export function readRuleCounts(exec: Exec, backend: Firewall, nets: Network[]): Map<string, RuleCounts | null> {
  const out = new Map<string, RuleCounts | null>();
  if (backend === "nftables") {
    const args = ["-j", "list", "counters", "table", "inet", NFT_TABLE];
    const r = exec.tryRun("nft", args);
    // No table: no network is up (nft says "No such file or directory").
    const absent = !r.ok && /No such file or directory/.test(r.stderr);
    if (!r.ok && !absent) throw new CommandError(showCommand("nft", args), r.code, r.stderr);
    const found = absent ? new Map<string, Count>() : parseNftCounters(r.stdout);
    for (const net of nets) out.set(net.name, nftRuleCounts(net, found));
    return out;
  }
  const r = exec.tryRun("iptables-save", ["-c"]);
  if (!r.ok) throw new CommandError("iptables-save -c", r.code, r.stderr);
  for (const net of nets) out.set(net.name, iptablesRuleCounts(net, r.stdout));
  return out;
}
