// The steps that make and remove an ordinary user's tap (kvmnet-userd): plain `ip` steps and the record of whose
// it is, carried out by apply like every other change.
import type { Step } from "../core/steps.js";
import { userTapDir, userTapRecord, type UserTapRecord } from "../core/user-taps.js";

/** Make TAP owned by REC's uid (QEMU, run as that user, can then open it) and record it. */
export function userTapCreate(stateDir: string, tap: string, rec: UserTapRecord): Step[] {
  return [
    { kind: "mkdir", path: userTapDir(stateDir) },
    {
      kind: "ip",
      lines: [`tuntap add dev ${tap} mode tap user ${rec.uid}`],
      why: `a tap for ${rec.user} (uid ${rec.uid}) on network ${rec.network}`,
    },
    { kind: "write", path: userTapRecord(stateDir, tap), content: JSON.stringify(rec) + "\n" },
  ];
}

/** Remove TAP and its record; a tap already gone is no failure. */
export function userTapDelete(stateDir: string, tap: string): Step[] {
  return [
    { kind: "ip", lines: [`link del dev ${tap}`], force: true, why: `the user's VM on ${tap} has ended` },
    { kind: "unlink", path: userTapRecord(stateDir, tap) },
  ];
}
