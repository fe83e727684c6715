// The nft backend's counters, read for `kvmnet metrics` (never on a hook's path): the named counters of kvmnet's
// table, one `nft -j list counters table inet kvmnet`.
import type { Network } from "../../config/types.js";
import { CommandError } from "../../errors.js";
import { showCommand, type Exec } from "../../host/exec.js";
import { NFT_TABLE } from "../../core/names.js";
import type { Count, RuleCounts } from "../backend-types.js";
import { nftCounters } from "./render.js";

/** Parse `nft -j list counters ...`: counter name → values. */
export function parseNftCounters(json: string): Map<string, Count> {
  const out = new Map<string, Count>();
  const doc = JSON.parse(json) as { nftables?: { counter?: { name: string; packets: number; bytes: number } }[] };
  for (const o of doc.nftables ?? [])
    if (o.counter) out.set(o.counter.name, { packets: o.counter.packets, bytes: o.counter.bytes });
  return out;
}

/** NET's counters among the nft counters FOUND; null when the network has none (its rules are not in place). */
export function nftRuleCounts(net: Network, found: Map<string, Count>): RuleCounts | null {
  const names = nftCounters(net);
  if (![...Object.values(names)].some((n) => found.has(n))) return null;
  const out = {} as RuleCounts;
  for (const [k, name] of Object.entries(names))
    out[k as keyof RuleCounts] = found.get(name) ?? { packets: 0, bytes: 0 };
  return out;
}

/** Read the counters of every network in NETS: one process. */
export function readNftCounts(exec: Exec, nets: Network[]): Map<string, RuleCounts | null> {
  const args = ["-j", "list", "counters", "table", "inet", NFT_TABLE];
  const r = exec.tryRun("nft", args);
  // No table: no network is up (nft says "No such file or directory").
  const absent = !r.ok && /No such file or directory/.test(r.stderr);
  if (!r.ok && !absent) throw new CommandError(showCommand("nft", args), r.code, r.stderr);
  const found = absent ? new Map<string, Count>() : parseNftCounters(r.stdout);
  return new Map(nets.map((net) => [net.name, nftRuleCounts(net, found)]));
}
