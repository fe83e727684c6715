// Placing kvmnet's files into a directory without ever replacing one that is already there: every write is
// exclusive (symlink, link or open with O_EXCL), and an existing file is only inspected, never overwritten.
import {
  chmodSync,
  closeSync,
  copyFileSync,
  fchmodSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { errnoWords } from "../errno.js";

/** What happened to one path. */
export type Placed =
  | { kind: "linked"; path: string; target: string }
  | { kind: "copied"; path: string; from: string }
  | { kind: "wrote"; path: string; note?: string }
  | { kind: "present"; path: string; note: string }
  | { kind: "kept"; path: string; note: string }
  | { kind: "failed"; path: string; note: string };

/** Put PATH in place as a symlink to SOURCE (or a copy of it when COPY); leave any existing file alone. */
export function placeProgram(path: string, source: string, copy: boolean): Placed {
  try {
    if (copy) {
      if (!exclusiveCopy(source, path)) return existing(path, source);
      return { kind: "copied", path, from: source };
    }
    symlinkSync(source, path);
    return { kind: "linked", path, target: source };
  } catch (e) {
    if (code(e) === "EEXIST") return existing(path, source);
    return failed(path, e);
  }
}

/** Write TEXT to PATH (mode 0644) only if nothing is there yet; NOTE says what to do with it next. */
export function placeConf(path: string, text: string, note?: string): Placed {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o644);
  } catch (e) {
    if (code(e) === "EEXIST") return { kind: "kept", path, note: "exists, left as it is" };
    return failed(path, e);
  }
  try {
    writeSync(fd, text);
    fchmodSync(fd, 0o644); // whatever the umask: the hooks refuse a config that group or others may write
    return { kind: "wrote", path, ...(note ? { note } : {}) };
  } catch (e) {
    unlinkQuietly(path); // a half-written config would be worse than none
    return failed(path, e);
  } finally {
    closeSync(fd);
  }
}

// Copy SOURCE to a temporary name beside PATH, then hard-link it into place: link(2) fails if PATH exists, so
// a racing writer's or user's file is never replaced, and PATH never holds a partial copy. False if PATH exists.
function exclusiveCopy(source: string, path: string): boolean {
  const tmp = `${path}.kvmnet-${process.pid}.tmp`;
  copyFileSync(source, tmp);
  try {
    chmodSync(tmp, 0o755);
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if (code(e) === "EEXIST") return false;
    throw e;
  } finally {
    unlinkQuietly(tmp);
  }
}

// Describe what is already at PATH: kvmnet itself ("present"), or someone else's file ("kept").
function existing(path: string, source: string): Placed {
  try {
    const l = lstatSync(path);
    const what = l.isSymbolicLink() ? `a link to ${readlinkSync(path)}` : l.isFile() ? "a file" : "not a file";
    if (sameFile(path, source))
      return {
        kind: "present",
        path,
        note: `already ${l.isSymbolicLink() ? `links to ${readlinkSync(path)}` : "is this kvmnet"}`,
      };
    if (l.isFile() && sameBytes(path, source)) return { kind: "present", path, note: "already a copy of this kvmnet" };
    return {
      kind: "kept",
      path,
      note: `exists and is ${what}, not this kvmnet; left as it is (move it away and run again to replace it)`,
    };
  } catch (e) {
    return failed(path, e);
  }
}

// True when A and B are the same file once links are followed.
function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

// True when A and B have the same contents (a copy made by an earlier `install --copy`).
function sameBytes(a: string, b: string): boolean {
  if (statSync(a).size !== statSync(b).size) return false;
  return readFileSync(a).equals(readFileSync(b));
}

function failed(path: string, e: unknown): Placed {
  const c = code(e);
  const why =
    c === "EACCES" || c === "EPERM"
      ? "permission denied (run as root, or choose --dest)"
      : c === "ENOENT"
        ? "no such directory"
        : errnoWords(e);
  return { kind: "failed", path, note: why };
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
