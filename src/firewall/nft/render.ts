// A network's part of kvmnet's one nft table (`table inet kvmnet`), rendered as text in the exact form `nft list`
// prints it, so that what is live can be compared with what is wanted by plain text. The shared part (base chains
// dispatching through verdict maps) and the transactions are in script.ts.
import type { Network, Published } from "../../config/types.js";
import { dispatchOf, type DispatchRule } from "../../render/dispatch.js";
import { NFT_MAPS, NFT_REJECT, nftChains } from "../../core/names.js";
import type { InputRule } from "../../render/policy.js";
import { sha256Hex } from "../../core/sha256.js";
import { renderNftAcl } from "./acl-rules.js";

/** One element of a verdict map: KEY (as nft prints it) jumps to CHAIN. */
export interface NftElement {
  map: string;
  key: string;
  chain: string;
}

/** What NET owns in the shared table: its chains (name → rules as nft prints them) and map elements. */
export interface NftNetwork {
  chains: Record<string, string[]>;
  elements: NftElement[];
  /** NET has source NAT, so the table needs its nat base chain. */
  nat: boolean;
  /** NET publishes ports, so the table needs the nat prerouting and output base chains. */
  publish: boolean;
  /** Named counters NET's rules count into (see nftCounters), declared in the table before the rules. */
  counters: string[];
}

/** NET's named counters in the shared table, read by `kvmnet metrics`: packets forwarded out of the bridge and
 *  allowed (FROM), forwarded into it and allowed (TO), from the bridge to itself (CROSS: guest to guest, seen
 *  only with br_netfilter), connections source-NATed (NAT: the nat chain sees only a connection's first packet),
 *  and forwarded packets rejected either way (REJECT). Every network with rules has all five (a mode's unused
 *  ones stay at 0), so a change of mode leaves none behind. */
export function nftCounters(net: Network) {
  const n = net.name;
  return { from: `from-${n}`, to: `to-${n}`, cross: `cross-${n}`, nat: `nat-${n}`, reject: `reject-${n}` };
}

// A rule counting into counter NAME: nft prints the counter statement just before the verdict.
const counted = (name: string) => `counter name ${q(name)}`;

const q = (s: string) => `"${s}"`;

// nft prints a rule's matches in the order they were given; these are given in the policy's field order.
function match(r: DispatchRule | InputRule): string {
  const ports =
    "ports" in r && r.proto && r.ports
      ? `${r.proto} dport ${r.ports.length > 1 ? `{ ${r.ports.join(", ")} }` : r.ports[0]}`
      : "";
  return [
    r.iif && `iifname ${q(r.iif)}`,
    r.oif && `oifname ${q(r.oif)}`,
    r.saddr && `${family(r.saddr)} saddr ${r.saddr}`,
    r.daddr && `${family(r.daddr)} daddr ${r.daddr}`,
    "dnat" in r && r.dnat && `${r.dnat.proto} dport ${r.dnat.port} ct status dnat`,
    r.established && "ct state established,related",
    ports,
  ]
    .filter(Boolean)
    .join(" ");
}

// nft's payload keyword for an address or prefix: ip, or ip6 for IPv6 (the inet table holds both families).
function family(address: string): "ip" | "ip6" {
  return address.includes(":") ? "ip6" : "ip";
}

// COUNT: the counters of a forward chain's accepts (or passes), of its accept from the bridge to itself, and of
// its rejects; none for the input chain.
type Count = { accept: string; reject: string; cross?: { bridge: string; name: string } };
function rule(r: DispatchRule | InputRule, count?: Count): string {
  // Forward rejects go through the shared reject chain (see NFT_REJECT); "pass" returns to the base chain,
  // whose next rule hands the packet to the destination's network.
  const verdict = r.verdict === "pass" ? "return" : r.verdict === "reject" ? `goto ${NFT_REJECT}` : r.verdict;
  const accept = count?.cross && r.oif === count.cross.bridge ? count.cross.name : count?.accept;
  const counter = count && (r.verdict === "reject" ? count.reject : r.verdict !== "drop" ? accept : null);
  return [match(r), counter && counted(counter), verdict].filter(Boolean).join(" ");
}

/** NET's chains and map elements, or null when it needs no rules. */
export function renderNft(net: Network): NftNetwork | null {
  const d = dispatchOf(net);
  if (!d) return null;
  const c = nftChains(net);
  const chains: Record<string, string[]> = {};
  const elements: NftElement[] = [];
  const br = q(d.bridge);
  const n = nftCounters(net);
  if (d.input.length) {
    chains[c.input] = d.input.map((r) => rule(r));
    elements.push({ map: NFT_MAPS.input, key: br, chain: c.input });
  }
  const cross = { bridge: d.bridge, name: n.cross };
  chains[c.from] = d.from.map((r) => rule(r, { accept: n.from, cross, reject: n.reject }));
  chains[c.to] = d.to.map((r) => rule(r, { accept: n.to, reject: n.reject }));
  elements.push({ map: NFT_MAPS.from, key: br, chain: c.from }, { map: NFT_MAPS.to, key: br, chain: c.to });
  if (d.nat) {
    const s = d.nat.subnet;
    const s6 = d.nat.subnet6;
    const oif = d.nat.oif ? ` oifname ${q(d.nat.oif)}` : "";
    const base = `ip daddr != ${s}${oif}`;
    const nat = counted(n.nat);
    chains[c.nat] = [
      // Hairpin: a guest reaching a published port of its own network is masqueraded, so that the guest serving
      // it answers through the host (the DNAT's other side), not directly.
      ...d.publish.map((p) => `ip daddr ${p.to} ${p.proto} dport ${p.toPort} ct status dnat ${nat} masquerade`),
      "ip daddr 224.0.0.0/24 return",
      "ip daddr 255.255.255.255 return",
      ...(d.nat.snatTo
        ? [`${base} ${nat} snat ip to ${d.nat.snatTo}`]
        : [
            `${base} meta l4proto tcp ${nat} masquerade to :1024-65535`,
            `${base} meta l4proto udp ${nat} masquerade to :1024-65535`,
            `${base} ${nat} masquerade`,
          ]),
      // NAT66 of the /64 to the outgoing interface's address (snat_to is an IPv4 address).
      ...(s6
        ? [
            `ip6 daddr != ${s6}${oif} meta l4proto tcp ${nat} masquerade to :1024-65535`,
            `ip6 daddr != ${s6}${oif} meta l4proto udp ${nat} masquerade to :1024-65535`,
            `ip6 daddr != ${s6}${oif} ${nat} masquerade`,
          ]
        : []),
    ];
    elements.push({ map: NFT_MAPS.nat, key: s, chain: c.nat });
    if (s6) elements.push({ map: NFT_MAPS.nat6, key: s6, chain: c.nat });
  }
  if (d.publish.length) {
    chains[c.publish] = boundFirst(d.publish).map(
      (p) => `${p.hostAddr ? `ip daddr ${p.hostAddr} ` : ""}${p.proto} dport ${p.port} dnat ip to ${p.to}:${p.toPort}`,
    );
    const keys = [...new Set(d.publish.map((p) => `${p.proto} . ${p.port}`))];
    elements.push(...keys.map((key) => ({ map: NFT_MAPS.publish, key, chain: c.publish })));
  }
  const acl = renderNftAcl(net);
  const want: NftNetwork = {
    chains: { ...chains, ...acl?.chains },
    elements: [...elements, ...(acl?.elements ?? [])],
    nat: !!d.nat,
    publish: d.publish.length > 0,
    counters: [...Object.values(n), ...(acl?.counters ?? [])],
  };
  stamp(net, want);
  return want;
}

// The first rule that matches wins: on one protocol and port, an entry bound to an address goes before the one
// for every address, which would otherwise take its traffic too. Otherwise the order is the config's.
function boundFirst(list: Published[]): Published[] {
  const key = (p: Published) => `${p.proto} ${p.port}`;
  const groups = new Map<string, Published[]>();
  for (const p of list) groups.set(key(p), [...(groups.get(key(p)) ?? []), p]);
  return [...groups.values()].flatMap((g) => [...g.filter((p) => p.hostAddr), ...g.filter((p) => !p.hostAddr)]);
}

// The hook's quick look reads only NET's "from" chain and the map that leads to it (one process, whatever the
// number of networks). So that chain's last rule carries a digest of everything NET owns: a config change that
// touches only another of its chains (say snat_to) still shows there.
function stamp(net: Network, want: NftNetwork): void {
  const from = want.chains[nftChains(net).from]!;
  const digest = sha256Hex(JSON.stringify(want)).slice(0, 12);
  from[from.length - 1] += ` comment ${q(`kvmnet ${net.name} ${digest}`)}`;
}

/** Chain NAME with RULES, as `nft list chain inet kvmnet NAME` prints it (inside its table). */
export function nftChainBlock(name: string, rules: string[]): string[] {
  return [`\tchain ${name} {`, ...rules.map((r) => `\t\t${r}`), "\t}"];
}
