// Starting a network's dnsmasq and recording it: kvmnet, not dnsmasq, writes the pid file (root's), together
// with the ifindex of the bridge the daemon's DHCP socket gets bound to.
import { readFileSync } from "node:fs";
import type { Step } from "../core/steps.js";
import { CommandError } from "../errors.js";
import { writeFileSafe } from "../host/write.js";
import { findDnsmasqs } from "../observe/dnsmasq-proc.js";
import { run, type Exec } from "../host/exec.js";

/** Start dnsmasq for step S and record its pid and the bridge's ifindex. */
export function startDnsmasq(exec: Exec, s: Extract<Step, { kind: "dnsmasq-start" }>): void {
  let ifindex = "";
  try {
    ifindex = readFileSync(`/sys/class/net/${s.bridge}/ifindex`, "utf8").trim();
  } catch {
    /* no bridge: nothing recorded, so the next run sees a stale dnsmasq and restarts it */
  }
  const cmd = `dnsmasq --conf-file=${s.conf}`;
  // dnsmasq daemonises and its first process exits only once the daemon is ready (or has failed), so the
  // daemon is there to be found now: the one process with exactly this command line in this namespace.
  run(exec, "dnsmasq", [`--conf-file=${s.conf}`]);
  const pids = findDnsmasqs(s.conf);
  if (pids.length !== 1) {
    throw new CommandError(
      cmd,
      0,
      pids.length
        ? `several dnsmasqs run with this config in this network namespace (pids ${pids.join(", ")}): stop them and run again`
        : "dnsmasq exited 0 but no dnsmasq with this config runs in this network namespace",
    );
  }
  // The ifindex first: a pid file is only ever next to the ifindex it was started for.
  writeFileSafe(s.ifindexFile, `${ifindex}\n`, 0o644);
  writeFileSafe(s.pidFile, `${pids[0]}\n`, 0o644);
}
