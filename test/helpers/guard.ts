// The per-VM guard's tests: hooks run as QEMU runs them (a parent whose command line names the NIC's MAC), and
// frames forged from a guest's eth0 (python's AF_PACKET socket), counted on another guest's eth0 as they arrive.
import { execa } from "execa";
import { expect } from "vitest";
import type { Lab } from "./lab.js";
import { program, type Netns } from "./netns.js";

/** The attacker's, the victim's and a static host's MACs. */
export const ATT = "52:54:00:00:0b:ad";
export const VIC = "52:54:00:00:0c:0c";
export const WEB = "52:54:00:88:88:88";

/** Run HOOK for TAP as QEMU does: from a parent whose command line holds -netdev tap,ifname=TAP and the NIC's
 *  mac= (none when MAC is null). */
export async function qemuHook(lab: Lab, hook: string, tap: string, mac: string | null) {
  const js =
    "const r=require('child_process').spawnSync(process.argv[1],[process.argv[2]],{stdio:'inherit'});process.exit(r.status??1)";
  const nic = mac ? [`virtio-net-pci,netdev=n0,mac=${mac}`] : ["virtio-net-pci,netdev=n0"];
  const r = await lab.host.tryRun(
    "node",
    ["-e", js, program(hook), tap, "-netdev", `tap,id=n0,ifname=${tap}`, "-device", ...nic],
    { env: { KVMNET_CONFIG: lab.conf.file }, timeout: 60_000 },
  );
  return { code: r.exitCode, stderr: String(r.stderr) };
}

/** Guests on LAB wired to the taps of NICS (tap, MAC), each attached by qemu-natup run as QEMU runs it (its
 *  MAC on the parent's command line); the guests' namespaces, in that order. */
export async function attachGuests(lab: Lab, nics: [tap: string, mac: string][]): Promise<Netns[]> {
  const guests: Netns[] = [];
  for (const [tap, mac] of nics) guests.push(await lab.addGuest(tap, mac));
  for (const [tap, mac] of nics) {
    const r = await qemuHook(lab, "qemu-natup", tap, mac);
    expect(r.code, r.stderr).toBe(0);
  }
  return guests;
}

/** A shell line in namespace G, asynchronously; its stdout. */
export async function nsh(g: Netns, line: string): Promise<string> {
  return (await execa("ip", ["netns", "exec", g.name, "sh", "-c", line])).stdout;
}

/** Count in G what reaches it from FROM (the attacker's MAC unless given) and matches WHAT (nft match text): on
 *  eth0's ingress for frames the stack never takes (AT "wire": other EtherTypes, other VLANs), else where the
 *  stack takes it in (ARP input, IPv4/IPv6 prerouting: a tag is gone there, its packet parsed). Each counter is a
 *  rule of its own, found again by its comment. */
export async function counter(
  g: Netns,
  what: string,
  at: "wire" | "stack" = "stack",
  from = ATT,
): Promise<() => Promise<number>> {
  const id = `c${Math.random().toString(36).slice(2, 10)}`;
  const [family, hook] =
    at === "wire" ? ["netdev", "ingress device eth0"] : /^arp /.test(what) ? ["arp", "input"] : ["inet", "prerouting"];
  await nsh(
    g,
    `nft add table ${family} v && nft add chain ${family} v in '{ type filter hook ${hook} priority -300; }' && nft add rule ${family} v in ${family === "arp" ? `arp saddr ether ${from} ` : `ether saddr ${from} `}${what} counter comment ${id}`,
  );
  return async () => {
    const line = (await nsh(g, `nft list chain ${family} v in`)).split("\n").find((l) => l.includes(`"${id}"`));
    return Number(/packets (\d+)/.exec(line ?? "")?.[1] ?? "0");
  };
}

/** MAC as hex bytes. */
export const hex = (mac: string) => mac.replace(/:/g, "");

/** Send each of FRAMES (whole Ethernet frames, hex) three times from G's eth0. */
export async function sendFrames(g: Netns, frames: string[]): Promise<void> {
  const code = `import socket;s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind(('eth0',0));[s.send(bytes.fromhex(f)) for f in ${JSON.stringify(frames)} for _ in range(3)]`;
  const r = await execa("ip", ["netns", "exec", g.name, "python3", "-c", code], { reject: false, timeout: 10_000 });
  expect(r.exitCode, String(r.stderr)).toBe(0);
}

// The Internet checksum of BYTES.
function csum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) + (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

const ip4 = (a: string) => Buffer.from(a.split(".").map(Number));
const u16 = (n: number) => n.toString(16).padStart(4, "0");

/** An IPv4 packet (hex) from SRC to DST carrying PROTO with PAYLOAD (hex): TTL 64, header checksum filled in. */
export function ipv4(src: string, dst: string, proto: number, payload: string): string {
  const fixed = Buffer.from(`4500${u16(20 + payload.length / 2)}00004000`, "hex");
  const head = Buffer.concat([fixed, Buffer.from([64, proto, 0, 0]), ip4(src), ip4(dst)]);
  head.writeUInt16BE(csum(head), 10);
  return head.toString("hex") + payload;
}

/** A UDP datagram (hex) from SPORT to DPORT with PAYLOAD (hex); checksum 0 (none, allowed over IPv4). */
export function udp4(sport: number, dport: number, payload: string): string {
  return `${u16(sport)}${u16(dport)}${u16(8 + payload.length / 2)}0000${payload}`;
}

const ip6b = (a: string) => {
  const [head, tail = ""] = a.split("::");
  const part = (s: string) => (s ? s.split(":").map((x) => x.padStart(4, "0")) : []);
  const h = part(head!);
  const t = part(tail);
  const groups = a.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0000"), ...t] : h;
  return Buffer.from(groups.join(""), "hex");
};

/** An IPv6 packet (hex) from SRC to DST carrying NEXT (17 UDP, 58 ICMPv6) with BODY (hex), its checksum (at
 *  CSUMAT bytes into BODY) computed over the pseudo-header; hop limit 255. */
export function ipv6(src: string, dst: string, next: number, body: string, csumAt: number): string {
  const b = Buffer.from(body, "hex");
  const pseudo = Buffer.concat([
    ip6b(src),
    ip6b(dst),
    Buffer.from(`0000${u16(b.length)}000000`, "hex"),
    Buffer.from([next]),
    b,
  ]);
  b.writeUInt16BE(csum(pseudo), csumAt);
  const head = Buffer.concat([
    Buffer.from(`60000000${u16(b.length)}`, "hex"),
    Buffer.from([next, 255]),
    ip6b(src),
    ip6b(dst),
  ]);
  return head.toString("hex") + b.toString("hex");
}

/** An Ethernet frame (hex) to DST from SRC (MACs) of TYPE (hex, with any tags before it) with PAYLOAD (hex). */
export function ether(dst: string, src: string, type: string, payload: string): string {
  return `${hex(dst)}${hex(src)}${type}${payload}`;
}

/** Wait until CHECK holds (polled every 100 ms) or MS pass; whether it held. */
export async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
