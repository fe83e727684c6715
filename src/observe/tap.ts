// What a hook must know of the interface it was given before touching it: its addresses whatever its link
// state, and the largest MTU it takes. getifaddrs (os.networkInterfaces) lists only interfaces that are up
// and running, so an admin-down or carrier-less NIC would look address-free; then one `ip` tells. A tap that
// QEMU has just created for the VM (a tun device without IFF_PERSIST) cannot hold an address yet: no process.
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { showCommand, type Exec } from "../host/exec.js";
import { CommandError } from "../errors.js";
import { isRunning } from "./links.js";

/** The interface as the preflight check sees it. */
export interface TapFacts {
  /** IPv4 and global IPv6 addresses as CIDR (link-local IPv6 does not count: every port that is up has one). */
  addresses: string[];
  /** The device's largest MTU, or null when not read (nothing asked for more than its current MTU). */
  maxMtu: number | null;
}

const IFF_PERSIST = 0x800;

/** Addresses and MTU limit of NAME; WANTMTU above its current MTU makes the limit be read. */
export function observeTap(exec: Exec, name: string, wantMtu?: number): TapFacts {
  const mtu = Number(readFileSync(`/sys/class/net/${name}/mtu`, "utf8"));
  const visible = isRunning(name);
  const limitUnknown = !!wantMtu && wantMtu > mtu;
  if (!visible && !limitUnknown && isFreshTap(name)) return { addresses: [], maxMtu: null };
  if (visible && !limitUnknown) {
    const addrs = (networkInterfaces()[name] ?? []).filter((a) => a.family === "IPv4" || !isLinkLocal6(a.address));
    return { addresses: addrs.map((a) => a.cidr ?? a.address), maxMtu: null };
  }
  const args = ["-d", "-j", "address", "show", "dev", name];
  const r = exec.tryRun("ip", args);
  if (!r.ok) throw new CommandError(showCommand("ip", args), r.code, r.stderr);
  return parseIpAddressJson(r.stdout);
}

/** The facts in `ip -d -j address show dev NAME` output. */
export function parseIpAddressJson(text: string): TapFacts {
  const [link] = JSON.parse(text) as {
    max_mtu?: number;
    addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
  }[];
  const addresses = (link?.addr_info ?? [])
    .filter((a) => a.family === "inet" || (a.family === "inet6" && a.scope !== "link"))
    .map((a) => `${a.local}/${a.prefixlen}`);
  return { addresses, maxMtu: link?.max_mtu ?? null };
}

// A tun/tap device that does not persist lives only as long as the process that opened it (QEMU, a moment
// ago): nobody has had the chance to give it an address. `ip tuntap add` makes persistent ones.
function isFreshTap(name: string): boolean {
  try {
    return (parseInt(readFileSync(`/sys/class/net/${name}/tun_flags`, "utf8"), 16) & IFF_PERSIST) === 0;
  } catch {
    return false; // not a tun device
  }
}

function isLinkLocal6(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}
