// dnsmasq's lease file: one lease a line, `EXPIRY MAC IP HOSTNAME CLIENTID` (EXPIRY 0 = never, HOSTNAME * = none).
import { readFileSync } from "node:fs";

/** One DHCP lease. */
export interface Lease {
  mac: string;
  ip: string;
  hostname: string | null;
  /** ISO time the lease ends, or null when it never does. */
  expires: string | null;
}

/** Parse the text of a dnsmasq lease file; lines that are not leases (DUID lines of DHCPv6) are skipped. */
export function parseLeases(text: string): Lease[] {
  const leases: Lease[] = [];
  for (const line of text.split("\n")) {
    const [expiry, mac, ip, hostname] = line.trim().split(/\s+/);
    if (!expiry || !mac || !ip || !/^\d+$/.test(expiry) || !/^[0-9a-f]{2}(:[0-9a-f]{2})+$/i.test(mac)) continue;
    const t = Number(expiry);
    leases.push({
      mac: mac.toLowerCase(),
      ip,
      hostname: !hostname || hostname === "*" ? null : hostname,
      expires: t === 0 ? null : new Date(t * 1000).toISOString(),
    });
  }
  return leases;
}

/** The leases in FILE; none when it does not exist yet. */
export function readLeases(file: string): Lease[] {
  try {
    return parseLeases(readFileSync(file, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}
