// The names of what kvmnet-userd makes for an ordinary user's VM: the tap, and the record beside the network's
// files that says whose it is and on which network (read back by status, leases, metrics and a restarted service).

/** Directory of the records of users' taps in STATE. */
export function userTapDir(stateDir: string): string {
  return `${stateDir}/userd`;
}

/** Record of user tap TAP. */
export function userTapRecord(stateDir: string, tap: string): string {
  return `${userTapDir(stateDir)}/${tap}.json`;
}

/** The Nth tap name kvmnet chooses for UID: "ku" + uid + "n" + N (at most 15 characters for any 32-bit uid and
 *  N < 10). The name only helps a human: ownership is the tap's owner, set by the kernel. */
export function userTapName(uid: number, n: number): string {
  return `ku${uid}n${n}`;
}

/** What a record holds. */
export interface UserTapRecord {
  uid: number;
  user: string;
  network: string;
}
