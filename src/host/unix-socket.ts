// Small unix-socket plumbing shared by the locks (src/host/lock.ts) and kvmnet watch's hook socket.
import { unlinkSync } from "node:fs";
import { connect } from "node:net";

/** Try to connect to the socket at PATH: null when something listens there (the connection is closed at once),
 *  else the error connecting gave. */
export function tryConnect(path: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const c = connect({ path });
    c.on("connect", () => {
      c.destroy();
      resolve(null);
    });
    c.on("error", (e: NodeJS.ErrnoException) => resolve(e));
  });
}

/** Remove PATH if it is there. */
export function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}
