// The tc and ip lines of a tap's bandwidth limits. Download (the tap's egress): a token bucket (tbf) at the rate,
// with fq_codel under it where the kernel has it (else tbf's own queue, bounded to 50 ms at the rate). Upload (the
// tap's ingress): redirected to an IFB device of the tap's own, shaped there the same way: shaping keeps TCP at the
// rate, where a policer's drops leave it below (and this kernel may have no police action). Owned by kvmnet:
// handle 4b56: ("KV") on the root, preference 19286 (0x4b56) on the tap's ingress, IFBs named kvi + the tap's
// ifindex with an alias naming the network and the tap.
import type { Network, Rate } from "../config/types.js";

/** Handle of kvmnet's root qdisc on a tap or IFB. */
export const SHAPER_HANDLE = "4b56:";
/** Preference of kvmnet's redirect filter on a tap's ingress. */
export const REDIRECT_PREF = 0x4b56;

/** The IFB device that shapes the upload of the tap with IFINDEX. */
export function ifbName(ifindex: number): string {
  return `kvi${ifindex}`;
}

/** The alias of the IFB of NET's TAP. */
export function ifbAlias(net: Network, tap: string): string {
  return `kvmnet:${net.name}:${tap}`;
}

const NONE = "kvmnet-rate:0/0";

/** The alias a tap gets once its limits are in place: what they are, so a hook's warm path reads sysfs only. A tap
 *  without limits has kvmnet's record of none (limits lifted: an alias is not set back to empty), or an alias that
 *  is not kvmnet's (left alone). */
export function rateAlias(rate: Rate | null): string {
  return rate ? `kvmnet-rate:${rate.down ?? 0}/${rate.up ?? 0}` : NONE;
}

/** True when a tap's ALIAS records the limits RATE. */
export function recordsRate(alias: string, rate: Rate | null): boolean {
  return alias === rateAlias(rate) || (rate === null && !alias.startsWith("kvmnet-rate:"));
}

// A burst of 10 ms at the rate, at least 32 KiB: enough for the kernel's timer and a loaded host to fill the rate.
function burst(bits: number): number {
  return Math.max(32_768, Math.ceil(bits / 8 / 100));
}

/** tc lines that shape DEV's egress to BITS per second (FQCODEL: with fq_codel under the shaper). */
export function shaperLines(dev: string, bits: number, fqCodel: boolean): string[] {
  return [
    `qdisc replace dev ${dev} root handle ${SHAPER_HANDLE} tbf rate ${bits}bit burst ${burst(bits)} latency 50ms`,
    ...(fqCodel ? [`qdisc replace dev ${dev} parent ${SHAPER_HANDLE}1 handle 4b57: fq_codel`] : []),
  ];
}

/** tc lines that remove kvmnet's shaper from DEV's egress. */
export function unshapeLines(dev: string): string[] {
  return [`qdisc del dev ${dev} root handle ${SHAPER_HANDLE}`];
}

/** tc lines that send TAP's ingress through IFB (after a stale redirect at kvmnet's preference is removed). */
export function redirectLines(tap: string, ifb: string, stale: boolean): string[] {
  return [
    `qdisc replace dev ${tap} clsact`,
    ...(stale ? [`filter del dev ${tap} ingress pref ${REDIRECT_PREF}`] : []),
    `filter add dev ${tap} ingress pref ${REDIRECT_PREF} protocol all u32 match u32 0 0 action mirred egress redirect dev ${ifb}`,
  ];
}
