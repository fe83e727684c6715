// dnsmasq's lease events for the guard (`guard = yes`): dnsmasq runs its dhcp-script, STATE_DIR/NET.lease-event,
// which runs `kvmnet add|old|del MAC IP [HOSTNAME]` as root with DNSMASQ_* in the environment. kvmnet then lets
// the guest with MAC send from IP (add, old: a lease granted, renewed, or read back at dnsmasq's start), or no
// longer (del: released or expired). The hostname is the guest's own word and is ignored.
import { realExec, type Exec } from "../host/exec.js";
import { isIPv4 } from "../ipv4.js";
import { guardIpScript } from "../render/guard.js";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** True when kvmnet was run by dnsmasq as a dhcp-script with ARGS. */
export function isLeaseEvent(args: string[], env: NodeJS.ProcessEnv): boolean {
  return env.DNSMASQ_INTERFACE !== undefined && ["add", "old", "del"].includes(args[0] ?? "");
}

/** Handle one lease event; exit 0 (dnsmasq ignores the status, and an IPv6 or other event is none of ours). */
export async function runLeaseEvent(args: string[], env: NodeJS.ProcessEnv, exec: Exec = realExec): Promise<number> {
  const [action, rawMac, ip] = args;
  const mac = rawMac?.toLowerCase() ?? "";
  // DHCPv6 events carry a DUID and DNSMASQ_IAID: the IPv6 guard goes by prefix, not by lease.
  if (env.DNSMASQ_IAID !== undefined || !MAC.test(mac) || !ip || !isIPv4(ip)) return 0;
  const r = exec.tryRun("nft", ["-f", "-"], guardIpScript(mac, ip, action === "del"));
  if (!r.ok) process.stderr.write(`kvmnet: lease event ${action} ${mac} ${ip}: ${r.stderr.trim()}\n`);
  return r.ok ? 0 : 1;
}
