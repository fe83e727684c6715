// Where a tool is: found once per process with a stat of each PATH directory, then spawned by that absolute path.
// spawn("ip") makes the child try execve in every PATH directory until one works (7 failures for /usr/sbin/ip
// with a usual root PATH), at every spawn; a stat is cheaper and is done once.
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";

const found = new Map<string, string>();

/** The absolute path of the executable CMD in $PATH (searched in order, as execvp does), cached per PATH and
 *  name; CMD itself when it holds a "/"; null when no PATH directory has it (not cached: a long-running
 *  `kvmnet watch` finds a tool installed later). */
export function whichTool(cmd: string, path = process.env.PATH ?? ""): string | null {
  if (cmd.includes("/")) return cmd;
  const key = `${path}\0${cmd}`;
  const file = found.get(key) ?? search(cmd, path);
  if (file) found.set(key, file);
  return file;
}

/** Forget where CMD was (it was not there when spawned: removed or moved since). */
export function forgetTool(cmd: string, path = process.env.PATH ?? ""): void {
  found.delete(`${path}\0${cmd}`);
}

function search(cmd: string, path: string): string | null {
  for (const dir of path.split(":")) {
    if (!dir.startsWith("/")) continue; // as safePath: never the current directory
    const file = `${dir.replace(/\/$/, "")}/${cmd}`;
    const st = statSync(file, { throwIfNoEntry: false });
    // A regular file someone may execute (root may run any file with an x bit, as execve lets it).
    if (st?.isFile() && (st.mode & 0o111) !== 0) return file;
  }
  return null;
}

/** Full path of CMD in the PATH of ENV, or null. */
export function which(cmd: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").filter(Boolean)) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      /* not here */
    }
  }
  return null;
}
