// dnsmasq's lease file. DHCP (IPv4) leases are lines `EXPIRY MAC IP HOSTNAME CLIENTID`; with DHCPv6 dnsmasq then
// writes `duid SERVER-DUID` and one line per address, `EXPIRY [T]IAID ADDRESS HOSTNAME CLIENT-DUID` (T: a
// temporary address). EXPIRY is seconds since the epoch, 0 = never; HOSTNAME and CLIENTID are `*` when absent.
import { readFileSync } from "node:fs";

/** One DHCP lease. */
export interface Lease {
  mac: string;
  ip: string;
  hostname: string | null;
  /** ISO time the lease ends, or null when it never does. */
  expires: string | null;
}

/** A DHCP (IPv4) lease with the client identifier the guest sent. */
export interface Lease4 extends Lease {
  clientId: string | null;
}

/** A DHCPv6 lease: one address of one identity association. */
export interface Lease6 {
  ip: string;
  iaid: number;
  temporary: boolean;
  hostname: string | null;
  /** The client's DUID, as dnsmasq writes it (hex bytes with colons). */
  duid: string | null;
  /** The MAC address inside a DUID-LL or DUID-LLT of an Ethernet client, else null. */
  mac: string | null;
  expires: string | null;
}

/** A whole lease file; BAD: lines that are none of the three kinds (number and text), which are skipped. */
export interface LeaseFile {
  v4: Lease4[];
  v6: Lease6[];
  serverDuid: string | null;
  bad: { line: number; text: string }[];
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
// dnsmasq writes other hardware types (Infiniband, ...) as longer colon lists, and `HTYPE-ADDR` forms.
const HWADDR = /^([0-9a-f]{1,2}-)?[0-9a-f]{2}(:[0-9a-f]{2})*$/i;
const none = (s: string | undefined) => (!s || s === "*" ? null : s);
const when = (t: string) => (t === "0" ? null : new Date(Number(t) * 1000).toISOString());

/** Parse the text of a dnsmasq lease file. */
export function parseLeaseFile(text: string): LeaseFile {
  const file: LeaseFile = { v4: [], v6: [], serverDuid: null, bad: [] };
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const [a, b, c, d, e, ...more] = line.split(/\s+/);
    if (a === "duid" && b && c === undefined) {
      file.serverDuid = b.toLowerCase();
      return;
    }
    const v6 = b !== undefined && /^T?\d+$/.test(b) && c?.includes(":");
    if (!/^\d+$/.test(a!) || !b || !c || !d || more.length) {
      file.bad.push({ line: i + 1, text: line });
    } else if (v6) {
      const duid = none(e)?.toLowerCase() ?? null;
      file.v6.push({
        ip: c.toLowerCase(),
        iaid: Number(b.replace(/^T/, "")),
        temporary: b.startsWith("T"),
        hostname: none(d),
        duid,
        mac: duid && macOfDuid(duid),
        expires: when(a!),
      });
    } else if (HWADDR.test(b) && /^\d+\.\d+\.\d+\.\d+$/.test(c)) {
      file.v4.push({
        mac: b.toLowerCase(),
        ip: c,
        hostname: none(d),
        clientId: none(e)?.toLowerCase() ?? null,
        expires: when(a!),
      });
    } else {
      file.bad.push({ line: i + 1, text: line });
    }
  });
  return file;
}

/** The MAC address in DUID (hex bytes with colons): DUID-LLT (type 1) and DUID-LL (type 3) of hardware type 1
 *  (Ethernet) end in it (RFC 8415 11.2, 11.4); other DUIDs carry none. */
export function macOfDuid(duid: string): string | null {
  const bytes = duid.split(":");
  const head = bytes.slice(0, 4).join(":");
  const tail = bytes.slice(head === "00:01:00:01" ? 8 : 4).join(":");
  if ((head === "00:01:00:01" && bytes.length === 14) || (head === "00:03:00:01" && bytes.length === 10))
    return MAC.test(tail) ? tail : null;
  return null;
}

/** Parse the text of a dnsmasq lease file into its IPv4 leases (the form `kvmnet status` shows). */
export function parseLeases(text: string): Lease[] {
  return parseLeaseFile(text).v4.map(({ mac, ip, hostname, expires }) => ({ mac, ip, hostname, expires }));
}

/** The lease file FILE, parsed; empty when it does not exist yet. */
export function readLeaseFile(file: string): LeaseFile {
  try {
    return parseLeaseFile(readFileSync(file, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { v4: [], v6: [], serverDuid: null, bad: [] };
    throw e;
  }
}

/** The IPv4 leases in FILE; none when it does not exist yet. */
export function readLeases(file: string): Lease[] {
  return readLeaseFile(file).v4.map(({ mac, ip, hostname, expires }) => ({ mac, ip, hostname, expires }));
}
