// What a check of `kvmnet doctor` (and of the once-only coexistence warnings) reports, and what it looks at.
import type { Exec } from "../host/exec.js";
import type { Config } from "../config/types.js";

/** ok: fine; warn: worth knowing, breaks nothing configured; fail: would break a configured network;
 *  skip: could not be checked here. */
export type Level = "ok" | "warn" | "fail" | "skip";

/** One finding: what was seen, and how to fix it when it is not ok. */
export interface Finding {
  id: string;
  level: Level;
  message: string;
  fix?: string;
  /** The configured networks it concerns. */
  networks?: string[];
}

/** What the checks look at: the config (null when it does not load) and a way to run read-only commands. */
export interface DoctorContext {
  config: Config | null;
  env: NodeJS.ProcessEnv;
  exec: Exec;
  /** Contents of a file under /proc, /sys or /dev (null when absent); a table in unit tests. */
  read(path: string): string | null;
}

/** True when br_netfilter sends bridged IPv4 frames through the iptables/nftables ip hooks. */
export function bridgeNfCallsIptables(ctx: DoctorContext): boolean {
  return ctx.read("/proc/sys/net/bridge/bridge-nf-call-iptables")?.trim() === "1";
}
