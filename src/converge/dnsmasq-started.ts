// Carrying out a `dnsmasq-start` step: the one step whose record needs a fact that exists only once it is done (the
// daemon's pid). So it is observed, decided and applied in turn here, apply itself observing nothing.
import { readFileSync } from "node:fs";
import { applySteps } from "../apply/apply.js";
import type { Step } from "../core/steps.js";
import { dnsmasqRecordSteps } from "../decide/dnsmasq-record.js";
import type { Exec } from "../host/exec.js";
import { findDnsmasqs } from "../observe/dnsmasq-proc.js";

// The bridge's ifindex now ("" when it is missing).
function ifindexOf(bridge: string): string {
  try {
    return readFileSync(`/sys/class/net/${bridge}/ifindex`, "utf8").trim();
  } catch {
    return "";
  }
}

/** Start dnsmasq for step S, then record its pid and the ifindex of the bridge it was started for. */
export function startDnsmasq(exec: Exec, s: Extract<Step, { kind: "dnsmasq-start" }>): void {
  const ifindex = ifindexOf(s.bridge);
  applySteps(exec, [s]);
  // dnsmasq daemonises and its first process exits only once the daemon is ready (or has failed), so the daemon is
  // there to be found now: the one process with exactly this command line in this network namespace.
  applySteps(exec, dnsmasqRecordSteps(s, ifindex, findDnsmasqs(s.conf)));
}
