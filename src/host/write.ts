// Writing a file root will later read or hand to dnsmasq: never through a planted symlink, never half done.
import { closeSync, constants as C, fchmodSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { errnoWords } from "../errno.js";
import { CommandError } from "../errors.js";

/** Replace PATH with CONTENT (mode MODE whatever the umask): a new temp file beside it, opened with
 *  O_CREAT|O_EXCL|O_NOFOLLOW (so a name someone guessed and planted fails rather than being written through)
 *  under a name of its own, then renamed over PATH (which replaces a symlink
 *  rather than writing through it). On failure the temp file is removed and the error names PATH. */
export function writeFileSafe(path: string, content: string, mode = 0o644): void {
  // Not node:crypto's random bytes: loading that module costs every hook ~2 ms, and O_EXCL already refuses a
  // planted name.
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
    fchmodSync(fd, mode);
    const buf = Buffer.from(content);
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    // The reason in words, without the syscall or TMP.
    const why = errnoWords(e);
    throw new CommandError(`write ${path}`, null, why, { cause: e });
  }
}
