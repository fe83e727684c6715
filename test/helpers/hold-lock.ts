// Holds a kvmnet lock file with kvmnet's own code until killed: `node --import tsx hold-lock.ts PATH`.
// Prints "held" once it has the lock. One process (not the tsx CLI, which runs a child), so a SIGKILL of this
// pid kills the holder itself.
import { withFileLock } from "../../src/host/lock.js";

await withFileLock(process.argv[2]!, () => {
  process.stdout.write("held\n");
  // A timer keeps node alive (a pending promise alone does not).
  return new Promise<never>(() => setInterval(() => {}, 1 << 30));
});
