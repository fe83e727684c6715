// Finding a network's own dnsmasq by the pid kvmnet recorded (never by name), and what it runs with.
import { existsSync, readFileSync } from "node:fs";
import type { Config, Network } from "../config/types.js";
import type { Exec } from "../host/exec.js";
import { dnsmasqFiles } from "../core/names.js";
import { kvmnetCommand } from "../host/self.js";
import { dnsmasqIds, unreadable, type Ids, type Unreadable } from "./dnsmasq-access.js";
import { findDnsmasqs, isOurDnsmasq } from "./dnsmasq-proc.js";
import { dhcpSocketIfindex } from "./dnsmasq-socket.js";

export { isOurDnsmasq } from "./dnsmasq-proc.js";

/** The dnsmasq of a network as found. */
export interface DnsmasqState {
  /** pid of the live dnsmasq kvmnet recorded (checked: command line, namespace, credentials), or null. */
  pid: number | null;
  /** kvmnet's dnsmasqs of this network found by scanning /proc because the record was missing or wrong. */
  orphans: number[];
  /** ifindex of the bridge the recorded dnsmasq was started for (its DHCP socket is bound to it), or null. */
  ifindex: number | null;
  /** Where IFINDEX comes from when kvmnet has no record of it (a dnsmasq started by kvmnet 0.1, which kept none):
   *  "socket", the device its DHCP socket is bound to; "bridge", taken to be the bridge there now (nothing told
   *  otherwise: a missing record is no sign of a stale dnsmasq). Absent: kvmnet's record. */
  ifindexFrom?: "socket" | "bridge";
  /** ifindex of the bridge now; null when the bridge is missing. */
  bridgeIfindex: number | null;
  /** Current contents of our config, hostsfile and addn-hosts (null when missing). */
  conf: string | null;
  hosts: string | null;
  addnHosts: string | null;
  leaseEvent: string | null;
  /** With guard = yes: the command line that runs this kvmnet, for the lease-event wrapper (null without). */
  kvmnet: string | null;
  /** The dhcp-optsfile (absent or null: missing). */
  opts?: string | null;
  /** Files dnsmasq re-reads as nobody but cannot read, and what stops it. */
  unreadable: Unreadable[];
  /** With tftp_root: whether it exists, and what stops dnsmasq (as nobody) from listing and reading it. */
  tftpRoot?: { exists: boolean; unreadable: Unreadable | null };
  /** Line of `state_dir` in the config file (0: not set), known when a directory blocks dnsmasq. */
  stateDirLine: number;
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function num(text: string | null): number | null {
  const n = Number(text?.trim());
  return text !== null && Number.isInteger(n) && n > 0 ? n : null;
}

/** Observe NET's dnsmasq: its recorded pid (checked without a scan), its files, the bridge's ifindex. /proc
 *  is scanned only when the record is missing or wrong, to find an orphan kvmnet must stop. */
export function observeDnsmasq(config: Config, net: Network, exec: Exec): DnsmasqState {
  const f = dnsmasqFiles(config, net);
  const recorded = num(readOr(f.pid));
  const pid = recorded !== null && isOurDnsmasq(recorded, f.conf) ? recorded : null;
  const conf = readOr(f.conf);
  // No record, or a wrong one: a dnsmasq may run unrecorded (its pid file lost, or all of state_dir).
  const orphans = pid === null ? findDnsmasqs(f.conf) : [];
  let ids: Ids | undefined;
  const who = () => (ids ??= dnsmasqIds(pid));
  const blocked = [f.hosts, f.addnHosts, ...(net.dhcpOptions?.length ? [f.opts] : [])]
    .map((p) => unreadable(p, who))
    .filter((u): u is Unreadable => u !== null);
  const bridgeIfindex = num(readOr(`/sys/class/net/${net.bridge}/ifindex`));
  return {
    pid,
    orphans,
    ...servedIfindex(exec, pid, num(readOr(f.ifindex)), bridgeIfindex),
    bridgeIfindex,
    conf,
    hosts: readOr(f.hosts),
    addnHosts: readOr(f.addnHosts),
    leaseEvent: readOr(f.leaseEvent),
    kvmnet: net.guard ? kvmnetCommand() : null,
    opts: readOr(f.opts),
    unreadable: blocked,
    ...(net.boot?.root
      ? // "ROOT/." : every directory on the way and the root itself must be searchable, and the root readable.
        { tftpRoot: { exists: existsSync(net.boot.root), unreadable: unreadable(`${net.boot.root}/.`, who) } }
      : {}),
    stateDirLine: blocked.some((u) => u.kind === "dir") ? (config.lines.state_dir ?? 0) : 0,
  };
}

// The bridge ifindex dnsmasq PID serves: kvmnet's RECORDED one, else the device its DHCP socket is bound to (one
// process, only for a dnsmasq without a record), else the bridge there now.
function servedIfindex(exec: Exec, pid: number | null, recorded: number | null, bridge: number | null) {
  if (pid === null) return { ifindex: null };
  if (recorded !== null) return { ifindex: recorded };
  const bound = dhcpSocketIfindex(exec, pid);
  return bound
    ? { ifindex: bound, ifindexFrom: "socket" as const }
    : { ifindex: bridge, ifindexFrom: "bridge" as const };
}
