// A network's part of kvmnet's one nft table (`table inet kvmnet`), rendered as text in the exact form `nft list`
// prints it, so that what is live can be compared with what is wanted by plain text. The shared part (base chains
// dispatching through verdict maps) and the transactions are in nft-script.ts.
import { createHash } from "node:crypto";
import type { Network } from "../config/types.js";
import { dispatchOf, type DispatchRule } from "./dispatch.js";
import { NFT_MAPS, NFT_REJECT, nftChains } from "./names.js";
import type { InputRule } from "./policy.js";

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
}

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

function rule(r: DispatchRule | InputRule): string {
  // Forward rejects go through the shared reject chain (see NFT_REJECT); "pass" returns to the base chain,
  // whose next rule hands the packet to the destination's network.
  const verdict = r.verdict === "pass" ? "return" : r.verdict === "reject" ? `goto ${NFT_REJECT}` : r.verdict;
  return [match(r), verdict].filter(Boolean).join(" ");
}

/** NET's chains and map elements, or null when it needs no rules. */
export function renderNft(net: Network): NftNetwork | null {
  const d = dispatchOf(net);
  if (!d) return null;
  const c = nftChains(net);
  const chains: Record<string, string[]> = {};
  const elements: NftElement[] = [];
  const br = q(d.bridge);
  if (d.input.length) {
    chains[c.input] = d.input.map(rule);
    elements.push({ map: NFT_MAPS.input, key: br, chain: c.input });
  }
  chains[c.from] = d.from.map(rule);
  chains[c.to] = d.to.map(rule);
  elements.push({ map: NFT_MAPS.from, key: br, chain: c.from }, { map: NFT_MAPS.to, key: br, chain: c.to });
  if (d.nat) {
    const s = d.nat.subnet;
    const s6 = d.nat.subnet6;
    const oif = d.nat.oif ? ` oifname ${q(d.nat.oif)}` : "";
    const base = `ip daddr != ${s}${oif}`;
    chains[c.nat] = [
      // Hairpin: a guest reaching a published port of its own network is masqueraded, so that the guest serving
      // it answers through the host (the DNAT's other side), not directly.
      ...d.publish.map((p) => `ip daddr ${p.to} ${p.proto} dport ${p.toPort} ct status dnat masquerade`),
      "ip daddr 224.0.0.0/24 return",
      "ip daddr 255.255.255.255 return",
      ...(d.nat.snatTo
        ? [`${base} snat ip to ${d.nat.snatTo}`]
        : [
            `${base} meta l4proto tcp masquerade to :1024-65535`,
            `${base} meta l4proto udp masquerade to :1024-65535`,
            `${base} masquerade`,
          ]),
      // NAT66 of the /64 to the outgoing interface's address (snat_to is an IPv4 address).
      ...(s6
        ? [
            `ip6 daddr != ${s6}${oif} meta l4proto tcp masquerade to :1024-65535`,
            `ip6 daddr != ${s6}${oif} meta l4proto udp masquerade to :1024-65535`,
            `ip6 daddr != ${s6}${oif} masquerade`,
          ]
        : []),
    ];
    elements.push({ map: NFT_MAPS.nat, key: s, chain: c.nat });
    if (s6) elements.push({ map: NFT_MAPS.nat6, key: s6, chain: c.nat });
  }
  if (d.publish.length) {
    chains[c.publish] = d.publish.map(
      (p) => `${p.hostAddr ? `ip daddr ${p.hostAddr} ` : ""}${p.proto} dport ${p.port} dnat ip to ${p.to}:${p.toPort}`,
    );
    const keys = [...new Set(d.publish.map((p) => `${p.proto} . ${p.port}`))];
    elements.push(...keys.map((key) => ({ map: NFT_MAPS.publish, key, chain: c.publish })));
  }
  const want: NftNetwork = { chains, elements, nat: !!d.nat, publish: d.publish.length > 0 };
  stamp(net, want);
  return want;
}

// The hook's quick look reads only NET's "from" chain and the map that leads to it (one process, whatever the
// number of networks). So that chain's last rule carries a digest of everything NET owns: a config change that
// touches only another of its chains (say snat_to) still shows there.
function stamp(net: Network, want: NftNetwork): void {
  const from = want.chains[nftChains(net).from]!;
  const digest = createHash("sha256").update(JSON.stringify(want)).digest("hex").slice(0, 12);
  from[from.length - 1] += ` comment ${q(`kvmnet ${net.name} ${digest}`)}`;
}

/** Chain NAME with RULES, as `nft list chain inet kvmnet NAME` prints it (inside its table). */
export function nftChainBlock(name: string, rules: string[]): string[] {
  return [`\tchain ${name} {`, ...rules.map((r) => `\t\t${r}`), "\t}"];
}
