// A network's firewall rules (ACLs) in kvmnet's nft table, as `nft list` prints them. The forward base chain
// looks them up first, by verdict map on the bridge a packet leaves (acl-out-NET: what the guests open) and the
// bridge it enters (acl-in-NET: what is opened to them), so a packet meets only the rules of the networks it
// touches, however many networks and rules there are. Rules speak of connections: a reply is never matched
// by them, so a rule cuts the connections it forbids (those already open too) and leaves every other alone.
import type { AclRule, Network } from "../../config/types.js";
import { NFT_MAPS, NFT_REJECT, nftChains } from "../../core/names.js";

// A verdict map element (nft.ts's NftElement, which imports this file).
interface NftElement {
  map: string;
  key: string;
  chain: string;
}

/** NET's ACL chains, the map elements that lead to them, and their named counters. */
export interface NftAcl {
  chains: Record<string, string[]>;
  elements: NftElement[];
  counters: string[];
}

/** The named counter of rule KEY ("allow_in.ssh") of NET, read by `kvmnet metrics`. A rule name has no dot
 *  (src/config/acl.ts), so the last two parts tell the rule whatever the network's name holds. */
export function aclCounter(net: Pick<Network, "name">, key: string): string {
  return `acl-${net.name}.${key}`;
}

/** True when counter NAME is one of NET's ACL counters, configured now or not: "acl-NET." and then a rule key
 *  (FAMILY.NAME, one dot) or "in-other"/"out-other". A network's name may hold dots, but a rule's cannot, so no
 *  other network's counter reads as NET's. */
export function isAclCounterOf(net: Pick<Network, "name">, name: string): boolean {
  const prefix = `acl-${net.name}.`;
  return (
    name.startsWith(prefix) &&
    /^(?:(?:allow|deny)_(?:in|out)\.[A-Za-z0-9_]+|(?:in|out)-other)$/.test(name.slice(prefix.length))
  );
}

/** The counter of what NET's allow rules of direction DIR leave out (refused); "-" keeps it apart from a rule's. */
export function aclOtherCounter(net: Pick<Network, "name">, dir: "in" | "out"): string {
  return `acl-${net.name}.${dir}-other`;
}

/** Every counter NET's rules count into, for `kvmnet metrics` (key → counter name): the rules' own and, when
 *  there are allow rules of a direction, what that direction refuses ("in-other", "out-other"). */
export function aclCounters(net: Network): Record<string, string> {
  const rules = net.acl ?? [];
  const out: Record<string, string> = {};
  for (const r of rules) out[r.key] = aclCounter(net, r.key);
  for (const dir of ["in", "out"] as const)
    if (rules.some((r) => r.action === "allow" && r.dir === dir)) out[`${dir}-other`] = aclOtherCounter(net, dir);
  return out;
}

const q = (s: string) => `"${s}"`;
const ipOf = (a: string) => (a.includes(":") ? "ip6" : "ip");

// The rule's matches, in the order nft prints them back: interface, source, destination, protocol and ports.
// A rule naming a network with an IPv6 prefix too is one line per family, each counting into the rule's counter.
function matches(r: AclRule): string[] {
  const peerAddrs = r.peer?.addrs.length ? r.peer.addrs : [undefined];
  const ifname = r.peer?.bridge ? `${r.dir === "in" ? "iifname" : "oifname"} ${q(r.peer.bridge)}` : "";
  const proto = !r.proto
    ? ""
    : r.proto === "icmp"
      ? "meta l4proto { icmp, ipv6-icmp }"
      : r.ports
        ? `${r.proto} dport ${r.ports.length > 1 ? `{ ${r.ports.join(", ")} }` : r.ports[0]}`
        : `meta l4proto ${r.proto}`;
  return peerAddrs.map((p) => {
    const [src, dst] = r.dir === "in" ? [p, r.guest] : [r.guest, p];
    return [ifname, src && `${ipOf(src)} saddr ${src}`, dst && `${ipOf(dst)} daddr ${dst}`, proto]
      .filter(Boolean)
      .join(" ");
  });
}

// The lines of the rules of one action and direction, each with its counter and VERDICT.
function lines(net: Network, rules: AclRule[], verdict: string): string[] {
  return rules.flatMap((r) =>
    matches(r).map((m) => [m, `counter name ${q(aclCounter(net, r.key))}`, verdict].filter(Boolean).join(" ")),
  );
}

/** NET's ACL part of the table, or null when it has no rules. */
export function renderNftAcl(net: Network): NftAcl | null {
  const rules = net.acl ?? [];
  if (!rules.length) return null;
  const c = nftChains(net);
  const br = q(net.bridge);
  const pick = (action: AclRule["action"], dir: AclRule["dir"]) =>
    rules.filter((r) => r.action === action && r.dir === dir);
  const reject = `goto ${NFT_REJECT}`;
  const allowIn = pick("allow", "in");
  const allowOut = pick("allow", "out");
  const chains: Record<string, string[]> = {
    [c.aclOut]: [
      // Guest to guest on its own bridge: no rule applies (port_isolation is for that).
      `oifname ${br} return`,
      // A guest's answers to connections made to it: they were let in.
      "ct direction reply accept",
      ...lines(net, pick("deny", "out"), reject),
      // Allowed out: the destination's rules (if it is a network of kvmnet's) and the mode's decide next.
      ...lines(net, allowOut, "return"),
      ...(allowOut.length ? [`counter name ${q(aclOtherCounter(net, "out"))} ${reject}`] : []),
    ],
    [c.aclIn]: [
      `iifname ${br} return`,
      // Answers to the guests' own connections: the mode decides, as without rules.
      "ct direction reply return",
      ...lines(net, pick("deny", "in"), reject),
      // Allowed in, from outside or from another network's guests, whatever the mode would say.
      ...lines(net, allowIn, "accept"),
      // Published ports (DNAT) are allowed by publish itself.
      ...(allowIn.length ? ["ct status dnat return", `counter name ${q(aclOtherCounter(net, "in"))} ${reject}`] : []),
    ],
  };
  const elements: NftElement[] = [{ map: NFT_MAPS.aclOut, key: br, chain: c.aclOut }];
  // Without rules of its own, acl-in would only return: it is left out (acl-out has the replies to allow_in).
  if (rules.some((r) => r.dir === "in")) elements.push({ map: NFT_MAPS.aclIn, key: br, chain: c.aclIn });
  else delete chains[c.aclIn];
  return { chains, elements, counters: Object.values(aclCounters(net)) };
}
