// Users' taps: the records kvmnet-userd keeps in state_dir (whose, which network) and the owner the kernel holds
// for a tap (/sys/class/net/TAP/owner, set by `ip tuntap add ... user UID`).
import { readdirSync, readFileSync } from "node:fs";
import { userTapDir, userTapRecord, type UserTapRecord } from "../core/user-taps.js";

/** The uid owning tap TAP, or null when it has none (a root tap, not a tap, or gone). */
export function tapOwner(tap: string): number | null {
  try {
    const n = Number(readFileSync(`/sys/class/net/${tap}/owner`, "utf8").trim());
    return Number.isInteger(n) && n >= 0 ? n : null;
  } catch {
    return null;
  }
}

/** True when a process has tap TAP open (the kernel turns a tap's carrier on while it is attached). */
export function tapInUse(tap: string): boolean {
  try {
    return readFileSync(`/sys/class/net/${tap}/carrier`, "utf8").trim() === "1";
  } catch {
    return false;
  }
}

/** Every record of a user's tap in STATE, by tap name (an unreadable or malformed one is left out). */
export function readUserTaps(stateDir: string): Map<string, UserTapRecord> {
  const out = new Map<string, UserTapRecord>();
  let names: string[];
  try {
    names = readdirSync(userTapDir(stateDir)).filter((f) => f.endsWith(".json"));
  } catch {
    return out;
  }
  for (const f of names) {
    const tap = f.slice(0, -".json".length);
    try {
      const r = JSON.parse(readFileSync(userTapRecord(stateDir, tap), "utf8")) as UserTapRecord;
      if (typeof r.uid === "number" && typeof r.user === "string" && typeof r.network === "string") out.set(tap, r);
    } catch {
      // Half a record is no record: the service that wrote it removes it when it sweeps.
    }
  }
  return out;
}
