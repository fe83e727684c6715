// Traffic counters of an interface, from /sys/class/net/IF/statistics (no process).
import { readFileSync } from "node:fs";

/** What kvmnet exports of an interface's statistics. */
export const IF_STATS = ["rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_dropped", "tx_dropped"] as const;

/** One interface's counters. */
export type IfStats = Record<(typeof IF_STATS)[number], number>;

/** The counters of NAME; null when it does not exist (or left while being read). */
export function readIfStats(name: string, sys = "/sys/class/net"): IfStats | null {
  try {
    const out = {} as IfStats;
    for (const k of IF_STATS) out[k] = Number(readFileSync(`${sys}/${name}/statistics/${k}`, "utf8"));
    return out;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}
