// Minimal writer for the cpio "newc" format (what the Linux kernel unpacks as an initramfs).
// Pure Node: no cpio binary needed, and device nodes can be created without root.
import { gzipSync } from "node:zlib";

// One archive member; parent directories must be listed before their contents.
export type CpioEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; data: Buffer | string; mode?: number }
  | { type: "symlink"; path: string; target: string }
  | { type: "chardev"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function member(
  ino: number,
  name: string,
  mode: number,
  nlink: number,
  data: Buffer,
  rdev: [number, number],
): Buffer[] {
  const nameBuf = Buffer.from(name + "\0");
  const header =
    "070701" + [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0].map(hex8).join("");
  const head = Buffer.concat([Buffer.from(header, "ascii"), nameBuf]);
  return [head, pad4(head.length), data, pad4(data.length)];
}

// Serialises entries into an uncompressed newc archive (with the TRAILER!!! member).
export function writeNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, "");
    if (!name) throw new Error(`cpio: empty path`);
    const n = ino++;
    if (e.type === "dir") {
      parts.push(...member(n, name, S_IFDIR | (e.mode ?? 0o755), 2, Buffer.alloc(0), [0, 0]));
    } else if (e.type === "file") {
      const data = typeof e.data === "string" ? Buffer.from(e.data) : e.data;
      parts.push(...member(n, name, S_IFREG | (e.mode ?? 0o644), 1, data, [0, 0]));
    } else if (e.type === "symlink") {
      parts.push(...member(n, name, S_IFLNK | 0o777, 1, Buffer.from(e.target), [0, 0]));
    } else {
      parts.push(...member(n, name, S_IFCHR | (e.mode ?? 0o600), 1, Buffer.alloc(0), [e.major, e.minor]));
    }
  }
  parts.push(...member(0, "TRAILER!!!", 0, 1, Buffer.alloc(0), [0, 0]));
  return Buffer.concat(parts);
}

// Serialises and gzips entries: the form `-initrd` takes.
export function writeNewcGz(entries: CpioEntry[]): Buffer {
  return gzipSync(writeNewc(entries), { level: 6 });
}
