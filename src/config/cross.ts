// Checks that involve two networks: one bridge each, no overlapping subnets, one default, no kvmnet bridge
// as a NIC. Sorted or hashed once, so a file with thousands of networks is checked in linear-log time.
import type { ConfigProblem } from "../errors.js";
import { networkOf, toInt } from "../ipv4.js";
import type { Network } from "./types.js";
import { subnetOf6 } from "../ipv6.js";

/** Push to PROBLEMS each clash between NETS (in file order), reported at the later network of a pair. */
export function crossCheck(file: string, nets: Network[], problems: ConfigProblem[]): void {
  const push = (n: Network, key: string, message: string) =>
    problems.push({ file, line: n.lines[key] ?? 0, key, message });
  const byBridge = bridgeCheck(nets, push);
  for (const n of nets) {
    for (const key of ["uplink", "trunk"] as const) {
      const v = n[key];
      if (v && byBridge.has(v)) push(n, key, `${v} is a kvmnet bridge, not a NIC`);
    }
  }
  overlapCheck(nets, push);
  // One network per published protocol and port: the host's dispatch goes by protocol and port alone.
  const published = new Map<string, Network>();
  for (const n of nets) {
    for (const p of n.publish ?? []) {
      const m = published.get(`${p.proto} ${p.port}`);
      if (m && m !== n)
        push(n, "publish", `${p.proto} port ${p.port} is already published by [${m.name}] (line ${m.lines.publish})`);
      else published.set(`${p.proto} ${p.port}`, n);
    }
  }
  const by64 = new Map<string, Network>();
  for (const n of nets) {
    if (!n.address6) continue;
    const p = subnetOf6(n.address6);
    const m = by64.get(p);
    if (m) push(n, "address6", `prefix ${p} is already that of [${m.name}] (line ${m.lines.address6})`);
    else by64.set(p, n);
  }
}

// One network per bridge, one default network; the networks by bridge.
function bridgeCheck(nets: Network[], push: (n: Network, key: string, message: string) => void) {
  const byBridge = new Map<string, Network>();
  let isDefault: Network | undefined;
  for (const n of nets) {
    const m = byBridge.get(n.bridge);
    if (m)
      push(
        n,
        "bridge",
        `${n.bridge} is already the bridge of [${m.name}] (line ${m.lines.bridge}): one network per bridge`,
      );
    else byBridge.set(n.bridge, n);
    if (n.isDefault && isDefault)
      push(n, "default", `[${isDefault.name}] is already the default network (line ${isDefault.lines.default})`);
    else if (n.isDefault) isDefault = n;
  }
  return byBridge;
}

// Subnets are aligned blocks, so two overlap only when one contains the other. Sorted by first address (the
// larger block first on a tie), the blocks containing a block are the open ones on a stack, and the blocks it
// contains are those pushed above it before it closes. So each network learns the earliest network (in file
// order) among those that overlap it, and is reported when that one comes before it: the pairwise rule.
function overlapCheck(nets: Network[], push: (n: Network, key: string, message: string) => void): void {
  interface Open {
    i: number;
    end: number;
    above: number;
    below: number;
  }
  const blocks = nets.flatMap((n, i) => {
    if (!n.address) return [];
    const start = toInt(networkOf(n.address));
    return [{ i, start, end: start + 2 ** (32 - n.address.prefix) - 1 }];
  });
  blocks.sort((a, b) => a.start - b.start || b.end - a.end);
  const stack: Open[] = [];
  const close = () => {
    const o = stack.pop()!;
    const top = stack[stack.length - 1];
    if (top) top.above = Math.min(top.above, o.i, o.above);
    const earliest = Math.min(o.above, o.below);
    if (earliest < o.i) {
      const m = nets[earliest]!;
      push(nets[o.i]!, "address", `subnet overlaps that of [${m.name}] (line ${m.lines.address})`);
    }
  };
  for (const b of blocks) {
    while (stack.length && stack[stack.length - 1]!.end < b.start) close();
    const top = stack[stack.length - 1];
    stack.push({ i: b.i, end: b.end, above: Infinity, below: top ? Math.min(top.below, top.i) : Infinity });
  }
  while (stack.length) close();
}
