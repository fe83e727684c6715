// kvmnet's nft tables beside the firewall backend's, whichever backend `firewall =` chose: the per-VM guard
// (`table bridge kvmnet`: filtering a guest's frames by its tap takes the bridge family, which only nft has) and a
// VXLAN network's underlay guard (`table inet kvmnet-vx-NET`). Observe, decide and the lease events reach them only
// through this interface.
import type { Network, Vxlan } from "../config/types.js";
import type { Step } from "../core/steps.js";
import type { Exec } from "../host/exec.js";

/** The guard table as found. */
export interface GuardTable {
  /** Chain name → its rule lines as nft prints them. */
  chains: Record<string, string[]>;
  /** Tap name → the chain its map element jumps to. */
  map: Record<string, string>;
  /** The set's pairs, "MAC . IP". */
  ips: Set<string>;
}

/** A guarded tap and the guest MAC it lets send. */
export interface TapMac {
  tap: string;
  mac: string;
}

/** The tables beside the backend's: how they are read, checked and changed. */
export interface SideTables {
  /** The guard table (one `nft list`); null when there is none. */
  readGuard(exec: Exec): GuardTable | null;
  /** The guest MAC TAP's chain in TABLE lets send (read back from its first rule); null: none. */
  guardedMac(table: GuardTable, tap: string): string | null;
  /** TABLE hands frames to the taps' chains. */
  guardDispatches(table: GuardTable): boolean;
  /** TAP's chain in TABLE is the one written for the guest MAC on NET (on the host HOSTNAME: the gateway's
   *  link-local address follows the bridge's MAC), and its map element leads there. */
  guardInPlace(table: GuardTable, net: Network, tap: TapMac, hostName: string): boolean;
  /** TAP has a chain or a map element in TABLE. */
  guardHolds(table: GuardTable, tap: string): boolean;
  /** The step that (re)builds the guard of TAPS on NET (on the host HOSTNAME) and puts PAIRS (MAC . IPv4) in the
   *  set. */
  guardRestore(net: Network, taps: TapMac[], pairs: { mac: string; ip: string }[], hostName: string): Step;
  /** The step that removes TAP's guard, whether or not it is there. */
  guardDown(tap: string): Step;
  /** The transaction that adds (or, DEL, removes) the pair MAC . IP (dnsmasq's lease events). */
  guardIpScript(mac: string, ip: string, del: boolean): string;
  /** The comment of NET's underlay guard table (its digest); null: no such table. */
  readVxlanGuard(exec: Exec, net: Network): string | null;
  /** The comment the underlay guard of NET carries when it lets VX's packets in from PEERS only. */
  vxlanGuardComment(net: Network, vx: Vxlan, peers: string[]): string;
  /** The step that writes NET's underlay guard whole, for PEERS. */
  vxlanGuardUp(net: Network, vx: Vxlan, peers: string[]): Step;
  /** The step that removes NET's underlay guard (none there is no failure). */
  vxlanGuardDown(net: Network): Step;
}
