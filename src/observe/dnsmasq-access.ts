// Whether dnsmasq can read the files it re-reads after dropping root (dhcp-hostsfile, addn-hosts): without them
// static leases and names are silently ignored, so kvmnet checks every directory on the way and the file itself.
import { readFileSync, statSync, type Stats } from "node:fs";
import { processIds } from "./dnsmasq-proc.js";

/** The user and groups a process runs as. */
export interface Ids {
  uid: number;
  gids: number[];
}

/** A file dnsmasq cannot read, and the path that stops it (the file itself or a directory above it). */
export interface Unreadable {
  file: string;
  blocker: string;
  mode: number;
  /** "file": the file's own mode; "dir": a directory above it that dnsmasq may not enter. */
  kind: "file" | "dir";
}

function entry(file: string, name: string): string[] | undefined {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => f[0] === name);
  } catch {
    return undefined;
  }
}

/** Who dnsmasq reads files as: the running one's ids (PID), else what it drops to when started by root with no
 *  `user=`: "nobody" (its compiled default, also in Debian's dnsmasq-base, whose `dnsmasq` user only the
 *  system service passes with -u), with group "dip" when that group exists (its default group), else nobody's. */
export function dnsmasqIds(pid: number | null): Ids {
  const running = pid !== null ? processIds(pid) : null;
  if (running) return running;
  const pw = entry("/etc/passwd", "nobody");
  const dip = entry("/etc/group", "dip");
  const uid = pw ? Number(pw[2]) : 65534;
  return { uid, gids: [dip ? Number(dip[2]) : pw ? Number(pw[3]) : 65534] };
}

// Permission bits of ST that apply to IDS (owner, group or others; ACLs are not looked at).
function bits(st: Stats, ids: Ids): number {
  if (st.uid === ids.uid) return (st.mode >> 6) & 7;
  if (ids.gids.includes(st.gid)) return (st.mode >> 3) & 7;
  return st.mode & 7;
}

/** Why IDS cannot read FILE: the first directory on the way it may not search, or the file's own mode; null
 *  when it can (or when the file is missing but reachable: kvmnet writes it 0644). IDS is taken lazily, since
 *  mode 0755 directories and 0644 files need no user to decide. */
export function unreadable(file: string, ids: () => Ids): Unreadable | null {
  const parts = file.split("/").filter(Boolean);
  let path = "";
  for (let i = 0; i < parts.length; i++) {
    const dir = path || "/";
    path += `/${parts[i]}`;
    let st: Stats;
    try {
      st = statSync(dir);
    } catch {
      return null; // a missing directory is made by kvmnet, 0755
    }
    if ((st.mode & 1) === 0 && (bits(st, ids()) & 1) === 0)
      return { file, blocker: dir, mode: st.mode & 0o7777, kind: "dir" };
  }
  try {
    const st = statSync(file);
    if ((st.mode & 4) === 0 && (bits(st, ids()) & 4) === 0)
      return { file, blocker: file, mode: st.mode & 0o7777, kind: "file" };
  } catch {
    return null;
  }
  return null;
}

/** "cannot read FILE (DIR is mode 0700)", as status and doctor say it. */
export function describeUnreadable(u: Unreadable): string {
  const mode = u.mode.toString(8).padStart(4, "0");
  return u.kind === "file"
    ? `cannot read ${u.file} (it is mode ${mode})`
    : `cannot read ${u.file} (${u.blocker} is mode ${mode})`;
}
