// The tables beside the firewall backend (src/firewall/side-types.ts), in nft: the per-VM guard's bridge table and
// the VXLAN underlay guard.
import type { GuardTable, SideTables } from "../side-types.js";
import {
  GUARD_DISPATCH,
  GUARD_IPS,
  GUARD_MAP,
  GUARD_TABLE,
  guardChain,
  guardDownScript,
  guardIpScript,
  guardRestoreScript,
  guardRules,
  guardStamp,
} from "./guard.js";
import { parseNftListing } from "./listing.js";
import {
  vxlanGuardComment,
  vxlanGuardDownScript,
  vxlanGuardRules,
  vxlanGuardScript,
  vxlanGuardTable,
} from "./vxlan-guard.js";

// The elements of the set GUARD_IPS: `elements = { MAC . IP, MAC . IP,` wrapped over lines, up to `}`.
function setPairs(text: string): Set<string> {
  const out = new Set<string>();
  const start = text.indexOf(`\tset ${GUARD_IPS} {`);
  if (start < 0) return out;
  const body = text.slice(start, text.indexOf("\n\t}", start));
  for (const m of body.matchAll(/([0-9a-f]{2}(?::[0-9a-f]{2}){5}) \. (\d+\.\d+\.\d+\.\d+)/g))
    out.add(`${m[1]} . ${m[2]}`);
  return out;
}

/** The side tables in nft. */
export const nftSideTables: SideTables = {
  readGuard: (exec) => {
    const r = exec.tryRun("nft", ["list", "table", ...GUARD_TABLE.split(" ")]);
    if (!r.ok) return null;
    const listing = parseNftListing(r.stdout);
    const map: Record<string, string> = {};
    for (const e of listing.elements) if (e.map === GUARD_MAP) map[e.key.replace(/"/g, "")] = e.chain;
    return { chains: listing.chains, map, ips: setPairs(r.stdout) } satisfies GuardTable;
  },
  guardedMac: (t, tap) => /^ether saddr != (\S+) drop/.exec(t.chains[t.map[tap] ?? ""]?.[0] ?? "")?.[1] ?? null,
  guardDispatches: (t) => !!t.chains.prerouting?.includes(GUARD_DISPATCH),
  guardInPlace: (t, net, x, hostName) => {
    const rules = t.chains[guardChain(x.tap)];
    return (
      t.map[x.tap] === guardChain(x.tap) &&
      rules?.length === guardRules(net, x.mac, hostName).length &&
      rules[0]!.includes(`comment "${guardStamp(net, x.mac, hostName)}"`)
    );
  },
  guardHolds: (t, tap) => !!(t.chains[guardChain(tap)] || t.map[tap]),
  guardRestore: (net, taps, pairs, hostName) => ({
    kind: "nft",
    script: guardRestoreScript(net, taps, pairs, hostName),
  }),
  guardDown: (tap) => ({ kind: "nft", script: guardDownScript(tap) }),
  guardIpScript,
  readVxlanGuard: (exec, net) => {
    const r = exec.tryRun("nft", ["list", "table", "inet", vxlanGuardTable(net)]);
    if (!r.ok) return null;
    return /comment "([^"]*)"/.exec(r.stdout)?.[1] ?? "";
  },
  vxlanGuardComment: (net, vx, peers) => vxlanGuardComment(net, vxlanGuardRules(vx, peers)),
  vxlanGuardUp: (net, vx, peers) => ({ kind: "nft", script: vxlanGuardScript(net, vxlanGuardRules(vx, peers)) }),
  // Added before it is deleted: gone already is no failure.
  vxlanGuardDown: (net) => ({
    kind: "nft",
    script: `add table inet ${vxlanGuardTable(net)}\n${vxlanGuardDownScript(net)}`,
  }),
};
