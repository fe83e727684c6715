// Which port of a bridge each MAC address sits behind: the bridge's forwarding database, read from sysfs
// (/sys/class/net/BR/brforward, binary) without spawning `bridge fdb`. Ports are numbered; each port's number is
// in /sys/class/net/BR/brif/PORT/port_no.
import { endianness } from "node:os";
import { readdirSync, readFileSync } from "node:fs";

/** One learned (or local) entry of a bridge's forwarding database. */
export interface FdbEntry {
  mac: string;
  /** The bridge port's number (port_no | port_hi << 8). */
  port: number;
  /** The address is the bridge's or one of its ports' own (not a guest's). */
  local: boolean;
  /** Seconds since the address was last seen behind the port. */
  ageSeconds: number;
}

// struct __fdb_entry (include/uapi/linux/if_bridge.h): mac_addr[6], port_no u8, is_local u8,
// ageing_timer_value u32 (clock ticks, USER_HZ = 100), port_hi u8, pad0 u8, unused u16: 16 bytes, host order.
const ENTRY = 16;
const USER_HZ = 100;

/** Parse the bytes of a brforward file (LITTLE: the host's byte order is little endian). */
export function parseBrforward(buf: Buffer, little = endianness() === "LE"): FdbEntry[] {
  const out: FdbEntry[] = [];
  for (let o = 0; o + ENTRY <= buf.length; o += ENTRY) {
    const mac = [...buf.subarray(o, o + 6)].map((b) => b.toString(16).padStart(2, "0")).join(":");
    const ticks = little ? buf.readUInt32LE(o + 8) : buf.readUInt32BE(o + 8);
    out.push({ mac, port: buf[o + 6]! | (buf[o + 12]! << 8), local: buf[o + 7] !== 0, ageSeconds: ticks / USER_HZ });
  }
  return out;
}

/** Bridge port numbers of BRIDGE's ports (number → interface name), from sysfs. */
export function readPortNumbers(bridge: string, sys = "/sys/class/net"): Map<number, string> {
  const ports = new Map<number, string>();
  let names: string[];
  try {
    names = readdirSync(`${sys}/${bridge}/brif`);
  } catch {
    return ports;
  }
  for (const name of names) {
    try {
      // The kernel prints it as hex: "0x1".
      ports.set(parseInt(readFileSync(`${sys}/${bridge}/brif/${name}/port_no`, "utf8"), 16), name);
    } catch {
      /* the port left meanwhile */
    }
  }
  return ports;
}

/** Where each guest MAC sits on BRIDGE: MAC → port (interface) name, from learned (non-local) entries only. An
 *  empty map when the bridge does not exist. */
export function readFdb(bridge: string, sys = "/sys/class/net"): Map<string, { port: string; ageSeconds: number }> {
  const out = new Map<string, { port: string; ageSeconds: number }>();
  let buf: Buffer;
  try {
    buf = readFileSync(`${sys}/${bridge}/brforward`);
  } catch {
    return out;
  }
  const ports = readPortNumbers(bridge, sys);
  for (const e of parseBrforward(buf)) {
    const port = ports.get(e.port);
    // A MAC can be listed once per VLAN: the freshest entry wins.
    if (e.local || !port || (out.has(e.mac) && out.get(e.mac)!.ageSeconds <= e.ageSeconds)) continue;
    out.set(e.mac, { port, ageSeconds: e.ageSeconds });
  }
  return out;
}
