// A network across hosts: its underlay guard, an nft table of the network's own (`table inet kvmnet-vx-NET`) that
// lets the VNI's UDP in only from the configured peers over the underlay. Pure.
import type { Network, Vxlan } from "../../config/types.js";
import { sha256Hex } from "../../core/sha256.js";

/** The nft table of NET's underlay guard. */
export function vxlanGuardTable(net: Network): string {
  return `kvmnet-vx-${net.name}`;
}

/** The guard's input chain rules (as nft prints them): the VNI's VXLAN packets are let in only over the underlay
 *  and (static peers) from PEERS; dropped from anywhere else. The VNI is matched in the VXLAN header, 4 bytes
 *  after the UDP header's 8 (RFC 7348): another network's VNI on the same port is that network's business. */
export function vxlanGuardRules(vx: Vxlan, peers: string[]): string[] {
  const match = `udp dport ${vx.port} @th,96,24 0x${vx.id.toString(16)}`;
  const iif = `iifname "${vx.dev}"`;
  const set = (fam: "ip" | "ip6", list: string[]) =>
    list.length === 1 ? `${fam} saddr ${list[0]}` : `${fam} saddr { ${list.join(", ")} }`;
  const v4 = peers.filter((p) => !p.includes(":"));
  const v6 = peers.filter((p) => p.includes(":"));
  const accepts = vx.evpn
    ? [`${iif} ${match} accept`]
    : [
        ...(v4.length ? [`${iif} ${set("ip", v4)} ${match} accept`] : []),
        ...(v6.length ? [`${iif} ${set("ip6", v6)} ${match} accept`] : []),
      ];
  return [...accepts, `${match} drop`];
}

/** The digest the guard table's comment carries: a change of its rules shows there. */
export function vxlanGuardComment(net: Network, rules: string[]): string {
  return `kvmnet vxlan ${net.name} ${digest(rules.join("\n"))}`;
}

/** The transaction that (re)writes NET's guard table whole with RULES. */
export function vxlanGuardScript(net: Network, rules: string[]): string {
  const t = `inet ${vxlanGuardTable(net)}`;
  return [
    // Added first so that deleting it cannot fail; the table is then written whole, in one transaction.
    `add table ${t}`,
    `delete table ${t}`,
    `table ${t} {`,
    `\tcomment "${vxlanGuardComment(net, rules)}"`,
    "\tchain input {",
    "\t\ttype filter hook input priority filter - 1; policy accept;",
    ...rules.map((r) => `\t\t${r}`),
    "\t}",
    "}",
    "",
  ].join("\n");
}

/** The transaction that deletes NET's guard table. */
export function vxlanGuardDownScript(net: Network): string {
  return `delete table inet ${vxlanGuardTable(net)}\n`;
}

function digest(text: string): string {
  return sha256Hex(text).slice(0, 12);
}
