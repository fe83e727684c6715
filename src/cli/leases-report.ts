// `kvmnet leases`: a network's guests from what the host knows of them. Static leases (host.NAME), dnsmasq's
// leases (DHCP and DHCPv6), the bridge's forwarding database (which tap a MAC sits behind) and the neighbour
// table (addresses guests were seen using), joined by MAC. Observing is in observeLeases; the join is pure.
import type { Config, Network } from "../config/types.js";
import { realExec, type Exec } from "../host/exec.js";
import { toInt } from "../ipv4.js";
import { readFdb } from "../observe/fdb.js";
import { readLink } from "../observe/links.js";
import { readNeighbours, type Neighbour } from "../observe/neigh.js";
import { dnsmasqFiles } from "../core/names.js";
import { readLeaseFile, type LeaseFile } from "./leases.js";

/** An IPv6 address of a guest: from its DHCPv6 lease (with the lease's end) or seen in the neighbour table. */
export interface Address6 {
  ip: string;
  source: "dhcpv6" | "neighbour";
  expires?: string | null;
}

/** One guest (a MAC) of a network. */
export interface GuestLease {
  /** static: a host.NAME; dynamic: a lease from the pool; seen: no lease, only neighbour entries. */
  kind: "static" | "dynamic" | "seen";
  /** The host.NAME, else the hostname the guest sent. */
  name: string | null;
  mac: string | null;
  ip: string | null;
  clientId: string | null;
  /** ISO time the DHCP lease ends; null when it never does or there is no lease line. */
  expires: string | null;
  /** active: a lease line that has not ended; expired; none: no lease line (a static host not yet seen). */
  state: "active" | "expired" | "none";
  /** The bridge port the MAC was last seen behind (null: not in the forwarding database, e.g. aged out). */
  tap: string | null;
  ipv6: Address6[];
}

/** What observeLeases gathers for one network. */
export interface LeaseInputs {
  file: LeaseFile;
  fdb: Map<string, { port: string }>;
  neighbours: Neighbour[];
}

/** A network's guests, as `kvmnet leases --json` prints them. */
export interface NetworkLeases {
  name: string;
  bridge: string;
  leaseFile: string | null;
  guests: GuestLease[];
  counts: { static: number; dynamic: number; dhcpv6: number; pool: number | null };
}

const isExpired = (expires: string | null | undefined, now: number) => !!expires && Date.parse(expires) <= now;

/** Join INPUTS for NET at time NOW (ms). */
export function leaseReport(net: Network, leaseFile: string | null, inputs: LeaseInputs, now: number): NetworkLeases {
  const { file, fdb, neighbours } = inputs;
  const byMac = new Map<string, GuestLease>();
  const guests: GuestLease[] = [];
  const add = (g: GuestLease) => {
    guests.push(g);
    if (g.mac) byMac.set(g.mac, g);
  };
  const base = (mac: string | null) => ({ mac, tap: (mac && fdb.get(mac)?.port) || null, ipv6: [] as Address6[] });
  for (const h of net.hosts) {
    const mac = h.mac.toLowerCase();
    const l = file.v4.find((x) => x.mac === mac);
    add({
      kind: "static",
      name: h.name,
      ...base(mac),
      ip: h.ip,
      clientId: l?.clientId ?? null,
      expires: l?.expires ?? null,
      state: !l ? "none" : isExpired(l.expires, now) ? "expired" : "active",
    });
  }
  for (const l of file.v4) {
    if (byMac.has(l.mac)) continue;
    const state = isExpired(l.expires, now) ? "expired" : "active";
    add({
      kind: "dynamic",
      name: l.hostname,
      ...base(l.mac),
      ip: l.ip,
      clientId: l.clientId,
      expires: l.expires,
      state,
    });
  }
  for (const l of file.v6) {
    const owner = (l.mac && byMac.get(l.mac)) || (l.hostname ? guests.find((g) => g.name === l.hostname) : undefined);
    const a: Address6 = { ip: l.ip, source: "dhcpv6", expires: l.expires };
    if (owner) owner.ipv6.push(a);
    else {
      const state = isExpired(l.expires, now) ? "expired" : "active";
      add({ kind: "dynamic", name: l.hostname, ...base(l.mac), ip: null, clientId: null, expires: l.expires, state });
      guests[guests.length - 1]!.ipv6.push(a);
    }
  }
  for (const n of neighbours) {
    let g = byMac.get(n.mac);
    if (!g) {
      g = { kind: "seen", name: null, ...base(n.mac), ip: null, clientId: null, expires: null, state: "none" };
      add(g);
    }
    if (n.ip.includes(":")) {
      if (!g.ipv6.some((a) => a.ip === n.ip)) g.ipv6.push({ ip: n.ip, source: "neighbour" });
    } else if (g.ip === null) g.ip = n.ip;
  }
  for (const g of guests) g.ipv6.sort((a, b) => Number(a.ip.startsWith("fe80:")) - Number(b.ip.startsWith("fe80:")));
  const range = net.dhcpRange;
  return {
    name: net.name,
    bridge: net.bridge,
    leaseFile,
    guests,
    counts: {
      static: net.hosts.length,
      dynamic: guests.filter((g) => g.kind === "dynamic" && g.ip !== null && g.state === "active").length,
      dhcpv6: file.v6.filter((l) => !isExpired(l.expires, now)).length,
      pool: range ? toInt(range.last) - toInt(range.first) + 1 : null,
    },
  };
}

/** Read what the host knows of NET's guests (the lease file only where the network runs DHCP; the bridge's
 *  tables only where it exists: one `ip` process then). */
export function observeLeases(
  config: Config,
  net: Network,
  exec: Exec = realExec,
): LeaseInputs & { path: string | null } {
  const path = net.dhcpRange ? dnsmasqFiles(config, net).leases : null;
  const file = path ? readLeaseFile(path) : { v4: [], v6: [], serverDuid: null, bad: [] };
  const br = readLink(net.bridge);
  if (!br?.isBridge) return { path, file, fdb: new Map(), neighbours: [] };
  // The host's own addresses show up in the table too (its link-local address, seen through a port): entries
  // with the bridge's or a port's own MAC are no guest's.
  const own = new Set([br.mac, ...br.ports.map((p) => readLink(p)?.mac)]);
  const neighbours = readNeighbours(exec, net.bridge).filter((n) => !own.has(n.mac));
  return { path, file, fdb: readFdb(net.bridge), neighbours };
}
