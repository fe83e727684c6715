// Recording the dnsmasq a `dnsmasq-start` step started: kvmnet, not dnsmasq, writes the pid file (root's), together
// with the ifindex of the bridge the daemon's DHCP socket is bound to. The daemon's pid exists only after the start,
// so converge looks for it then (observe/dnsmasq-proc.ts) and carries out these steps right after the start.
import type { Step } from "../core/steps.js";
import { CommandError } from "../errors.js";

/** The writes that record the daemon START started: PIDS, kvmnet's dnsmasqs with its config in this network
 *  namespace now; IFINDEX, the bridge's as seen just before the start ("" when it was missing: nothing is recorded,
 *  so the next run sees a stale dnsmasq and restarts it). Throws when not exactly one daemon runs. */
export function dnsmasqRecordSteps(
  start: Extract<Step, { kind: "dnsmasq-start" }>,
  ifindex: string,
  pids: number[],
): Step[] {
  if (pids.length !== 1)
    throw new CommandError(
      `dnsmasq --conf-file=${start.conf}`,
      0,
      pids.length
        ? `several dnsmasqs run with this config in this network namespace (pids ${pids.join(", ")}): stop them and run again`
        : "dnsmasq exited 0 but no dnsmasq with this config runs in this network namespace",
    );
  // The ifindex first: a pid file is only ever next to the ifindex it was started for.
  return [
    { kind: "write", path: start.ifindexFile, content: `${ifindex}\n`, mode: 0o644 },
    { kind: "write", path: start.pidFile, content: `${pids[0]}\n`, mode: 0o644 },
  ];
}
