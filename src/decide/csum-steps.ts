// DHCP replies with a correct UDP checksum: dnsmasq's offers leave the host with the checksum left to offload
// (CHECKSUM_PARTIAL); a guest whose NIC is vhost-net receives them as they are, and old DHCP clients (dhclient
// before 4.x) drop them. nftables has no CHECKSUM target, so, as libvirt does, a tc `csum` action on the bridge's
// egress computes it for UDP to port 68. Owned by kvmnet: its own preference and handle on the bridge it made,
// which goes with the bridge.
import type { Network } from "../config/types.js";
import type { Step } from "../core/steps.js";
import { CSUM_PREF } from "../core/names.js";

/** tc batch lines that give NET's bridge the fix-up (made only where it is missing: `add`, not `replace`). */
export function csumLines(net: Network): string[] {
  // No fixed handle: u32 numbers its hash tables across all u32 filters of the egress, so a handle such as 800::800
  // names the first one's node, which may be an admin's (replace rewrote it, and kvmnet's was never made).
  return [
    `qdisc replace dev ${net.bridge} clsact`,
    `filter add dev ${net.bridge} egress pref ${CSUM_PREF} protocol ip u32 match ip protocol 17 0xff match ip dport 68 0xffff action csum udp`,
  ];
}

/** The fix-up step for NET when its bridge is being made (BRIDGEMADE) or was found without it (HAS false); none
 *  when the kernel cannot carry it (SUPPORTED false) or NET runs no DHCP. */
export function csumSteps(
  net: Network,
  dhcp: boolean,
  supported: boolean,
  bridgeMade: boolean,
  has: boolean | null,
): Step[] {
  if (!dhcp || !supported || (!bridgeMade && has !== false)) return [];
  return [{ kind: "tc", lines: csumLines(net) }];
}
