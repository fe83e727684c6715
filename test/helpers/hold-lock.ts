// Holds a kvmnet lock with kvmnet's own code until killed: `node --import tsx hold-lock.ts STATE_DIR NET`.
// Prints "held" once it has the lock. One process (not the tsx CLI, which runs a child), so a SIGKILL of this
// pid kills the holder itself.
import { lockPath, withFileLock } from "../../src/host/lock.js";

await withFileLock(lockPath(process.argv[2]!, process.argv[3]!), () => {
  process.stdout.write("held\n");
  // A timer keeps node alive (a pending promise alone does not).
  return new Promise<never>(() => setInterval(() => {}, 1 << 30));
});
