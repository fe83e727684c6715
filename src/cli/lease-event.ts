// dnsmasq's lease events for the guard (`guard = yes`): dnsmasq runs its dhcp-script, STATE_DIR/NET.lease-event,
// which runs `kvmnet add|old|del MAC IP [HOSTNAME]` as root with DNSMASQ_* in the environment. kvmnet then lets
// the guest with MAC send from IP (add, old: a lease granted, renewed, or read back at dnsmasq's start), or no
// longer (del: released or expired), and keeps the pair in the network's lease record in state_dir, from which
// `kvmnet up`, reapply and watch rebuild the guard after a flush. The hostname is the guest's own word and is
// ignored. One dnsmasq runs its script once at a time, so the record has one writer.
import type { Config } from "../config/types.js";
import { KvmnetError } from "../errors.js";
import { realExec, type Exec } from "../host/exec.js";
import { writeFileSafe } from "../host/write.js";
import { isIPv4 } from "../ipv4.js";
import { readGuardLeases } from "../observe/guard.js";
import { sideTables } from "../firewall/side-tables.js";
import { guardFiles } from "../core/names.js";
import { configFrom } from "./networks.js";

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
  const del = action === "del";
  const r = exec.tryRun("nft", ["-f", "-"], sideTables.guardIpScript(mac, ip, del));
  if (!r.ok) process.stderr.write(`kvmnet: lease event ${action} ${mac} ${ip}: ${r.stderr.trim()}\n`);
  try {
    record(configFrom(env), env.DNSMASQ_INTERFACE ?? "", mac, ip, del);
  } catch (e) {
    if (!(e instanceof KvmnetError)) throw e;
    process.stderr.write(`kvmnet: lease event ${action} ${mac} ${ip}: not recorded: ${e.message}\n`);
    return 1;
  }
  return r.ok ? 0 : 1;
}

// The pair added to (or, DEL, taken from) the lease record of the guarded network whose bridge is BRIDGE.
function record(config: Config, bridge: string, mac: string, ip: string, del: boolean): void {
  const net = config.networks.find((n) => n.guard && n.bridge === bridge);
  if (!net) return;
  const before = readGuardLeases(config, net);
  const after = [...before.filter((l) => l.mac !== mac || l.ip !== ip), ...(del ? [] : [{ mac, ip }])];
  if (after.length === before.length && before.some((l) => l.mac === mac && l.ip === ip) === !del) return;
  writeFileSafe(guardFiles(config, net).leases, after.map((l) => `${l.mac} ${l.ip}\n`).join(""));
}
