// Deciding what a network's dnsmasq needs: files written, started, restarted, or told to re-read hosts.
import type { Config, Network } from "../config/types.js";
import type { DnsmasqState } from "../observe/dnsmasq.js";
import { renderDnsmasq } from "../render/dnsmasq.js";
import { dnsmasqFiles } from "../render/names.js";
import type { Step } from "./steps.js";

/** Steps that leave exactly one dnsmasq of NET running with the rendered config. */
export function dnsmasqUpSteps(config: Config, net: Network, state: DnsmasqState | null): Step[] {
  const want = renderDnsmasq(config, net);
  if (!want || !state) return [];
  const f = dnsmasqFiles(config, net);
  const steps: Step[] = [];
  const write = (path: string, have: string | null, content: string) => {
    if (have !== content) steps.push({ kind: "write", path, content });
  };
  const confChanged = state.conf !== want.conf;
  const hostsChanged = state.hosts !== want.hosts || state.addnHosts !== want.addnHosts;
  if (state.pid !== null && !confChanged && !hostsChanged) return [];
  steps.push({ kind: "mkdir", path: config.stateDir }, { kind: "mkdir", path: config.leaseDir });
  write(f.hosts, state.hosts, want.hosts);
  write(f.addnHosts, state.addnHosts, want.addnHosts);
  write(f.conf, state.conf, want.conf);
  if (state.pid === null) steps.push({ kind: "dnsmasq-start", conf: f.conf });
  else if (confChanged) steps.push({ kind: "signal", pid: state.pid, signal: "SIGTERM" }, { kind: "dnsmasq-start", conf: f.conf });
  else steps.push({ kind: "signal", pid: state.pid, signal: "SIGHUP" });
  return steps;
}

/** Steps that stop NET's dnsmasq and remove its rendered files (the lease file stays). */
export function dnsmasqDownSteps(config: Config, net: Network, state: DnsmasqState | null): Step[] {
  if (!state) return [];
  const f = dnsmasqFiles(config, net);
  const steps: Step[] = state.pid !== null ? [{ kind: "signal", pid: state.pid, signal: "SIGTERM" }] : [];
  if (state.conf !== null || state.hosts !== null || state.addnHosts !== null || state.pid !== null) {
    steps.push(...[f.conf, f.hosts, f.addnHosts, f.pid].map((path): Step => ({ kind: "unlink", path })));
  }
  return steps;
}
