// Finding a program in PATH, as a spawn of it would.
import { accessSync, constants } from "node:fs";
import { join } from "node:path";

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
