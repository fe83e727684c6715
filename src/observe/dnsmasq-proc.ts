// Recognising kvmnet's own dnsmasq in /proc: by its exact command line, its network namespace and its owner,
// never by name alone. dnsmasq writes no pid file of its own (a pid file it chowns to nobody could be rewritten
// by any nobody process), so kvmnet records the pid itself and checks it here before trusting it.
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function link(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

function owner(path: string): number | null {
  try {
    return statSync(path).uid;
  } catch {
    return null;
  }
}

const self = new Map<string, string | null>();

/** The namespace of kind KIND ("net", "user") this process runs in, as /proc shows it ("net:[4026531840]"). */
export function ownNs(kind: "net" | "user"): string | null {
  if (!self.has(kind)) self.set(kind, link(`/proc/self/ns/${kind}`));
  return self.get(kind)!;
}

/** True when ARGV is exactly what kvmnet starts: `dnsmasq --conf-file=CONF`. */
export function isDnsmasqArgv(argv: string[], conf: string): boolean {
  return argv.length === 2 && /(^|\/)dnsmasq$/.test(argv[0]!) && argv[1] === `--conf-file=${conf}`;
}

/** True when PID is a live dnsmasq kvmnet started with --conf-file=CONF in this network namespace.
 *  A command line can be rewritten by any process, so it is believed only of a process that runs root's
 *  dnsmasq binary and holds what only root could have given it: root's uid, or capabilities in this user
 *  namespace (dnsmasq keeps CAP_NET_ADMIN and friends after dropping to nobody for DHCP; the same binary run
 *  by nobody or any other user has none, and /proc/PID is nobody's in both cases, so ownership tells nothing). */
export function isOurDnsmasq(pid: number, conf: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const cmdline = read(`/proc/${pid}/cmdline`);
  if (cmdline === null || !isDnsmasqArgv(cmdline.replace(/\0$/, "").split("\0"), conf)) return false;
  const exe = link(`/proc/${pid}/exe`);
  if (!exe || !/\/dnsmasq( \(deleted\))?$/.test(exe) || owner(`/proc/${pid}/exe`) !== 0) return false;
  if (link(`/proc/${pid}/ns/user`) !== ownNs("user")) return false;
  const net = link(`/proc/${pid}/ns/net`);
  if (net === null || net !== ownNs("net")) return false;
  const status = read(`/proc/${pid}/status`) ?? "";
  if (/^State:\s+Z/m.test(status)) return false;
  const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
  const caps = /^CapPrm:\s+([0-9a-f]+)/m.exec(status)?.[1];
  return uid === "0" || (caps !== undefined && BigInt(`0x${caps}`) !== 0n);
}

/** Every kvmnet dnsmasq with config CONF in this network namespace, found by scanning /proc (the record of
 *  its pid was lost or is wrong). Costs one read per process: only for that case, never on the warm path. */
export function findDnsmasqs(conf: string): number[] {
  const want = `--conf-file=${conf}`;
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    // A cheap look at the command line first; the full check only for a match.
    const cmdline = read(`/proc/${name}/cmdline`);
    if (cmdline?.includes(want) && isOurDnsmasq(Number(name), conf)) out.push(Number(name));
  }
  // With a dhcp-script (guard = yes), dnsmasq forks a helper that runs the script as root: the same command line,
  // a child of the daemon. It goes with the daemon; the daemon is the one whose parent is none of them.
  return out.filter((pid) => !out.includes(parentOf(pid)));
}

function parentOf(pid: number): number {
  return Number(/^PPid:\s+(\d+)/m.exec(read(`/proc/${pid}/status`) ?? "")?.[1] ?? 0);
}

/** The user and group dnsmasq PID runs as (from /proc/PID/status), or null when unknown. */
export function processIds(pid: number): { uid: number; gids: number[] } | null {
  const status = read(`/proc/${pid}/status`);
  const uid = status && /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  const gid = status && /^Gid:\s+\d+\s+(\d+)/m.exec(status);
  if (!uid || !gid) return null;
  const groups = (/^Groups:(.*)$/m.exec(status!)?.[1] ?? "").trim().split(/\s+/).filter(Boolean).map(Number);
  return { uid: Number(uid[1]), gids: [Number(gid[1]), ...groups] };
}
