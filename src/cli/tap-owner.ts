// Whose tap it is, for status, leases and metrics: the user kvmnet-userd made it for (its record in state_dir),
// else the uid the kernel holds as the tap's owner (a tap made by hand with `ip tuntap add ... user UID`).
import { readUserTaps, tapOwner } from "../observe/user-taps-state.js";

/** A tap's owner. */
export interface TapOwner {
  uid: number;
  user: string;
}

/** A lookup of the owner of a tap (null: root's, or no tap), reading STATE's records once. */
export function tapOwners(stateDir: string): (tap: string) => TapOwner | null {
  const records = readUserTaps(stateDir);
  return (tap) => {
    const r = records.get(tap);
    const uid = tapOwner(tap);
    if (r && (uid === null || uid === r.uid)) return { uid: r.uid, user: r.user };
    return uid === null ? null : { uid, user: String(uid) };
  };
}

/** An owner as words: "alice (uid 1000)". */
export function showOwner(o: TapOwner): string {
  return o.user === String(o.uid) ? `uid ${o.uid}` : `${o.user} (uid ${o.uid})`;
}
