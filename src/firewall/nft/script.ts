// The nft transactions that change one network in kvmnet's shared table. Each is one atomic `nft -f -`: the
// shared objects are created if missing (idempotent), the network's own chains and map elements are written
// whole, and nothing of another network is read or rewritten, so hooks of different networks need no common
// lock. (The base chains' rules are rewritten each time, always to the same text.)
import type { Network } from "../../config/types.js";
import { NFT_MAPS, NFT_REJECT, NFT_TABLE, oldNftTable } from "../../core/names.js";
import { nftChainBlock, nftCounters, type NftElement, type NftNetwork } from "./render.js";
import { aclCounters } from "./acl-rules.js";

const T = `inet ${NFT_TABLE}`;
const COMMENT = "managed by kvmnet; do not edit";

// The base chains: one per hook, each dispatching by verdict map to the network whose bridge (or subnet) the
// packet touches. Both families: a network's chains hold IPv6 twins of its IPv4 rules when it has address6, and
// otherwise reject IPv6 forwarded through its bridge like anything else its policy does not allow.
const BASE = {
  input: {
    spec: "type filter hook input priority filter; policy accept;",
    rules: [`iifname vmap @${NFT_MAPS.input}`],
  },
  forward: {
    spec: "type filter hook forward priority filter; policy accept;",
    // Firewall rules (ACLs) first: an allowed connection into a network is accepted there, before the modes'.
    rules: [
      `iifname vmap @${NFT_MAPS.aclOut}`,
      `oifname vmap @${NFT_MAPS.aclIn}`,
      `iifname vmap @${NFT_MAPS.from}`,
      `oifname vmap @${NFT_MAPS.to}`,
    ],
  },
  // Published ports: new connections to one of the host's own addresses, from outside or from guests (prerouting)
  // and from the host itself (output; not to 127.0.0.0/8, which would need route_localnet).
  prerouting: {
    spec: "type nat hook prerouting priority dstnat; policy accept;",
    rules: [`fib daddr type local meta l4proto . th dport vmap @${NFT_MAPS.publish}`],
  },
  output: {
    spec: "type nat hook output priority -100; policy accept;",
    rules: [`ip daddr != 127.0.0.0/8 fib daddr type local meta l4proto . th dport vmap @${NFT_MAPS.publish}`],
  },
  postrouting: {
    spec: "type nat hook postrouting priority srcnat; policy accept;",
    rules: [`ip saddr vmap @${NFT_MAPS.nat}`, `ip6 saddr vmap @${NFT_MAPS.nat6}`],
  },
};
const MAPS: Record<string, string> = {
  [NFT_MAPS.input]: "type ifname : verdict;",
  [NFT_MAPS.from]: "type ifname : verdict;",
  [NFT_MAPS.to]: "type ifname : verdict;",
  [NFT_MAPS.aclOut]: "type ifname : verdict;",
  [NFT_MAPS.aclIn]: "type ifname : verdict;",
  [NFT_MAPS.nat]: "type ipv4_addr : verdict; flags interval;",
  [NFT_MAPS.nat6]: "type ipv6_addr : verdict; flags interval;",
  [NFT_MAPS.publish]: "type inet_proto . inet_service : verdict;",
};

// What a network needs of the shared objects: the nat base chains and maps with source NAT, the prerouting and
// output ones with published ports. A transaction only ever adds shared objects; they go with the table.
type Needs = Pick<NftNetwork, "nat" | "publish">;
const baseChains = (w: Needs) =>
  [
    "input",
    "forward",
    ...(w.publish ? ["prerouting", "output"] : []),
    ...(w.nat ? ["postrouting"] : []),
  ] as (keyof typeof BASE)[];
const natMaps: string[] = [NFT_MAPS.nat, NFT_MAPS.nat6];
const mapNames = (w: Needs) =>
  Object.keys(MAPS).filter((m) => (w.nat || !natMaps.includes(m)) && (w.publish || m !== NFT_MAPS.publish));

/** What to remove of a network besides what it wants: observed chains, map elements and ACL counters. */
export interface NftObjects {
  chains: string[];
  elements: NftElement[];
  counters: string[];
}

/** The transaction that makes NET's part exactly WANT, deleting STALE first (elements before their chains; counters
 *  once no rule names them), and NET's pre-0.2 table when OLD. */
export function nftUpScript(net: Network, want: NftNetwork, stale: NftObjects, old = true): string {
  const own = Object.keys(want.chains);
  const lines = [
    `add table ${T} { comment "${COMMENT}"; }`,
    ...baseChains(want).map((b) => `add chain ${T} ${b} { ${BASE[b].spec} }`),
    `add chain ${T} ${NFT_REJECT}`,
    // Chains before maps: nft 1.0.6 fails ("No such file or directory") on an element of an interval map made in
    // the same transaction that jumps to a chain made after the map.
    ...own.map((c) => `add chain ${T} ${c}`),
    // Counters before the rules that name them; adding one that exists keeps its values.
    ...want.counters.map((c) => `add counter ${T} ${c}`),
    ...mapNames(want).map((m) => `add map ${T} ${m} { ${MAPS[m]} }`),
    `flush chain ${T} ${NFT_REJECT}`,
    `add rule ${T} ${NFT_REJECT} reject`,
    ...baseChains(want).flatMap((b) => [
      `flush chain ${T} ${b}`,
      ...BASE[b].rules.map((r) => `add rule ${T} ${b} ${r}`),
    ]),
    ...deleteLines(stale),
    ...own.flatMap((c) => [`flush chain ${T} ${c}`, ...want.chains[c]!.map((r) => `add rule ${T} ${c} ${r}`)]),
    // A counter is busy while a rule names it: those of rules taken out of the config go after the rewrite.
    ...stale.counters.map((c) => `delete counter ${T} ${c}`),
    ...want.elements.map((e) => `add element ${T} ${e.map} { ${e.key} : jump ${e.chain} }`),
    // The table this network had before the shared one (OLD: it was seen), goes in the same transaction: no
    // packet ever sees neither (made first, so that deleting it cannot fail).
    ...(old ? oldTableLines(net) : []),
  ];
  return lines.join("\n") + "\n";
}

/** The transaction that removes PRESENT (NET's chains and elements, and its counters with its chains) and NET's
 *  old table when OLD. */
export function nftDownScript(net: Network, present: NftObjects, old: boolean): string {
  // The configured counters are not always observed: each is added before it is deleted, so that a network made
  // before counters existed (or one of them missing) cannot fail the transaction. Those observed (PRESENT, rules
  // since taken out of the config among them) go too. The rules naming them went just before.
  const names = [...Object.values(nftCounters(net)), ...Object.values(aclCounters(net))];
  const counters =
    present.chains.length || present.counters.length
      ? [...new Set([...names, ...present.counters])].flatMap((c) => [
          `add counter ${T} ${c}`,
          `delete counter ${T} ${c}`,
        ])
      : [];
  return [...deleteLines(present), ...counters, ...(old ? oldTableLines(net) : [])].join("\n") + "\n";
}

/** The transaction that deletes the shared table. The kernel refuses it (busy) while any network's chain still
 *  jumps to the shared reject chain, that is while any network is left, whatever was observed before. */
export function nftDropTableScript(): string {
  return `delete chain ${T} ${NFT_REJECT}\ndelete table ${T}\n`;
}

function deleteLines(o: NftObjects): string[] {
  return [
    ...o.elements.map((e) => `delete element ${T} ${e.map} { ${e.key} }`),
    ...o.chains.map((c) => `delete chain ${T} ${c}`),
  ];
}

function oldTableLines(net: Network): string[] {
  return [`table ip ${oldNftTable(net)}`, `delete table ip ${oldNftTable(net)}`];
}

/** The shared table as `nft list table` prints it when NET is its only network: what `kvmnet plan` shows. */
export function nftTableView(want: NftNetwork): string {
  const lines = [`table ${T} {`, `\tcomment "${COMMENT}"`];
  for (const c of want.counters) lines.push(`\tcounter ${c} {`, "\t\tpackets 0 bytes 0", "\t}", "");
  for (const m of mapNames(want)) {
    const [type, ...flags] = MAPS[m]!.split("; ").map((s) => s.replace(/;$/, ""));
    const els = want.elements.filter((e) => e.map === m).map((e) => `${e.key} : jump ${e.chain}`);
    lines.push(`\tmap ${m} {`, `\t\t${type}`, ...flags.map((f) => `\t\t${f}`));
    if (els.length) lines.push(`\t\telements = { ${els.join(", ")} }`);
    lines.push("\t}", "");
  }
  const blocks = [
    ...baseChains(want).map((b) => nftChainBlock(b, [BASE[b].spec, ...BASE[b].rules])),
    nftChainBlock(NFT_REJECT, ["reject"]),
    ...Object.entries(want.chains).map(([c, rules]) => nftChainBlock(c, rules)),
  ];
  lines.push(...blocks.flatMap((b, i) => (i ? ["", ...b] : b)), "}");
  return lines.join("\n") + "\n";
}
