// Which paths root may trust: kvmnet runs as root and writes (and lets dnsmasq read) files under state_dir and
// lease_dir. If anyone else could write such a directory or one of its parents, they could plant a symlink or
// swap a file and make root overwrite any file on the host. So a path is trusted only when it and every
// directory above it (following symlinks, which must be root's too) is owned by root and writable by no one
// else. The one exception is a sticky directory such as /tmp above the path: there, others cannot rename or
// remove root's entries, so a root-owned directory inside it stays root's.
import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { errnoWords } from "../errno.js";

/** Why PATH is not trusted ("" when it is); a missing tail of PATH is fine (kvmnet creates it). */
export function untrustedReason(path: string): string {
  let todo = resolve(path).split("/").filter(Boolean);
  let cur = "/";
  const top = lstatSync("/");
  if (top.uid !== 0 || top.mode & 0o022) return describe("/", top);
  for (let hops = 0; todo.length > 0;) {
    const next = cur === "/" ? `/${todo[0]}` : `${cur}/${todo[0]}`;
    let st: Stats;
    try {
      st = lstatSync(next);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === "ENOENT" ? "" : `${next}: cannot check who may write it (${errnoWords(e)})`;
    }
    todo = todo.slice(1);
    if (st.uid !== 0) return describe(next, st);
    if (st.isSymbolicLink()) {
      if (++hops > 40) return `${next}: too many levels of symbolic links`;
      const target = readlinkSync(next);
      todo = [
        ...resolve(isAbsolute(target) ? target : `${dirname(next)}/${target}`)
          .split("/")
          .filter(Boolean),
        ...todo,
      ];
      cur = "/";
      continue;
    }
    // Others may write here only if it is a sticky directory above the path, not the path itself.
    if (st.mode & 0o022 && !(st.isDirectory() && st.mode & 0o1000 && todo.length > 0)) return describe(next, st);
    if (todo.length > 0 && !st.isDirectory()) return `${next}: is not a directory`;
    cur = next;
  }
  return "";
}

// "PATH is owned by uid U (mode M), ...: fix" for one offending path.
function describe(path: string, st: Stats): string {
  const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
  const kind = st.isSymbolicLink() ? "symlink " : "";
  if (st.uid !== 0) {
    return `${kind}${path} is owned by uid ${st.uid} (mode ${mode}), not root: whoever owns it can make root overwrite any file (fix: chown root: ${path}${kind ? "" : ` && chmod go-w ${path}`})`;
  }
  return `${path} is writable by group or others (owner root, mode ${mode}): anyone who can write it can make root overwrite any file (fix: chmod go-w ${path})`;
}
