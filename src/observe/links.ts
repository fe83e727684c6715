// Observing interfaces without spawning anything: /sys/class/net for links, getifaddrs for addresses.
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { networkInterfaces } from "node:os";

/** What kvmnet needs to know of one interface. */
export interface Link {
  name: string;
  isBridge: boolean;
  master: string | null;
  mtu: number;
  up: boolean;
  mac: string;
  /** Ports of a bridge (empty for other links). */
  ports: string[];
}

const SYS = "/sys/class/net";

/** The link NAME as sysfs shows it, or null when there is no such interface. */
export function readLink(name: string): Link | null {
  const dir = `${SYS}/${name}`;
  try {
    const flags = parseInt(readFileSync(`${dir}/flags`, "utf8"), 16);
    const isBridge = existsSync(`${dir}/bridge`);
    let master: string | null = null;
    try {
      master = readlinkSync(`${dir}/master`).split("/").pop() ?? null;
    } catch {
      /* no master */
    }
    return {
      name,
      isBridge,
      master,
      mtu: Number(readFileSync(`${dir}/mtu`, "utf8")),
      up: (flags & 1) === 1,
      mac: readFileSync(`${dir}/address`, "utf8").trim(),
      ports: isBridge ? readdirSync(`${dir}/brif`) : [],
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/** IPv4 addresses (as CIDR) of every interface that is up, by interface name. */
export function readAddresses(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const v4 = (addrs ?? []).filter((a) => a.family === "IPv4").map((a) => a.cidr ?? a.address);
    if (v4.length) out.set(name, v4);
  }
  return out;
}

/** Names of all interfaces. */
export function listLinks(): string[] {
  return readdirSync(SYS);
}

/** True when NAME is up and running as getifaddrs sees it. IFF_RUNNING is not in sysfs' flags: the kernel
 *  derives it from the operational state ("up", or "unknown" for devices that do not report one). */
export function isRunning(name: string): boolean {
  try {
    const flags = parseInt(readFileSync(`${SYS}/${name}/flags`, "utf8"), 16);
    const oper = readFileSync(`${SYS}/${name}/operstate`, "utf8").trim();
    return (flags & 1) === 1 && (oper === "up" || oper === "unknown");
  } catch {
    return false;
  }
}
