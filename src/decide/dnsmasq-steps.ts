// Deciding what a network's dnsmasq needs: files written, started, restarted, or told to re-read hosts.
import type { Config, Network } from "../config/types.js";
import type { ConfigProblem } from "../errors.js";
import type { DnsmasqState } from "../observe/dnsmasq-state.js";
import { renderDnsmasq, renderLeaseEvent } from "../render/dnsmasq-conf.js";
import { dnsmasqFiles } from "../core/names.js";
import type { Step } from "../core/steps.js";

/** True when the running dnsmasq serves a bridge that is gone: its DHCP socket stays bound to the ifindex of
 *  the bridge it was started for, so after the bridge is deleted and made again it answers no guest. */
export function isStale(state: DnsmasqState): boolean {
  return state.pid !== null && (state.bridgeIfindex === null || state.ifindex !== state.bridgeIfindex);
}

/** Why NET must not be brought up: dnsmasq, as nobody, could not enter a directory above state_dir and would
 *  silently ignore the static leases and names, or the DHCP options (null when it can, or when NET has none). */
export function dnsmasqRefusal(config: Config, net: Network, state: DnsmasqState | null): ConfigProblem | null {
  const dir = state?.unreadable.find((u) => u.kind === "dir");
  if (!dir || (net.hosts.length === 0 && !net.dhcpOptions?.length)) return null;
  const lost = net.hosts.length
    ? `host.${net.hosts[0]!.name} and the others`
    : `dhcp_option.${net.dhcpOptions![0]!.spec.replace(/^option:/, "")} and the others`;
  const mode = dir.mode.toString(8).padStart(4, "0");
  return {
    file: config.file,
    line: state!.stateDirLine,
    key: "state_dir",
    message:
      `${config.stateDir}: dnsmasq reads the static leases of network ${net.name} there after dropping root for nobody, ` +
      `and ${dir.blocker} (mode ${mode}) does not let it in: ${lost} would be silently ignored. ` +
      `Fix: set state_dir to a directory every user may enter, such as /run/kvmnet (the default), or chmod o+x ${dir.blocker}`,
  };
}

/** Steps that leave exactly one dnsmasq of NET running with the rendered config, for the bridge there now. */
export function dnsmasqUpSteps(config: Config, net: Network, state: DnsmasqState | null): Step[] {
  const want = renderDnsmasq(config, net);
  if (!want || !state) return [];
  const f = dnsmasqFiles(config, net);
  // A file dnsmasq cannot read for its own mode (written under a strict umask): written again, 0644.
  const badFile = new Set(state.unreadable.filter((u) => u.kind === "file").map((u) => u.file));
  const steps: Step[] = [];
  const write = (path: string, have: string | null, content: string) => {
    if (have !== content || badFile.has(path)) steps.push({ kind: "write", path, content });
  };
  const confChanged = state.conf !== want.conf;
  const optsChanged = (state.opts ?? null) !== want.opts;
  const hostsChanged =
    state.hosts !== want.hosts || state.addnHosts !== want.addnHosts || optsChanged || badFile.size > 0;
  const stale = isStale(state);
  const leaseEvent = renderLeaseEvent(net, state.kvmnet);
  const eventChanged = state.leaseEvent !== leaseEvent;
  // A dnsmasq kvmnet kept no record of (started by kvmnet 0.1) that serves the bridge there now, as its DHCP
  // socket shows: recorded, so that later runs need not ask ss. A restart records it anyway.
  const record: Step[] =
    state.pid !== null && state.ifindexFrom === "socket" && !stale && !confChanged
      ? [{ kind: "write", path: f.ifindex, content: `${state.ifindex}\n` }]
      : [];
  if (state.pid !== null && !confChanged && !hostsChanged && !stale && !eventChanged) return record;
  steps.push({ kind: "mkdir", path: config.stateDir }, { kind: "mkdir", path: config.leaseDir });
  write(f.hosts, state.hosts, want.hosts);
  write(f.addnHosts, state.addnHosts, want.addnHosts);
  if (want.opts !== null) write(f.opts, state.opts ?? null, want.opts);
  else if (optsChanged) steps.push({ kind: "unlink", path: f.opts });
  if (leaseEvent !== null && eventChanged)
    steps.push({ kind: "write", path: f.leaseEvent, content: leaseEvent, mode: 0o755 });
  write(f.conf, state.conf, want.conf);
  const start: Step = {
    kind: "dnsmasq-start",
    conf: f.conf,
    pidFile: f.pid,
    ifindexFile: f.ifindex,
    bridge: net.bridge,
  };
  const stop = (pid: number): Step => ({ kind: "signal", pid, signal: "SIGTERM" });
  // An unrecorded one (its pid file was lost) holds the ports: stopped, then a fresh one is recorded.
  if (state.pid === null) steps.push(...state.orphans.map(stop), start);
  else if (confChanged || stale) steps.push(stop(state.pid), start);
  else steps.push(...record, { kind: "signal", pid: state.pid, signal: "SIGHUP" });
  return steps;
}

/** Steps that stop NET's dnsmasq (also one whose record was lost) and remove its files (the lease file stays). */
export function dnsmasqDownSteps(config: Config, net: Network, state: DnsmasqState | null): Step[] {
  if (!state) return [];
  const f = dnsmasqFiles(config, net);
  const pids = [...(state.pid !== null ? [state.pid] : []), ...state.orphans];
  const steps = pids.map((pid): Step => ({ kind: "signal", pid, signal: "SIGTERM" }));
  if (state.conf !== null || state.hosts !== null || state.addnHosts !== null || pids.length) {
    const files = [
      f.conf,
      f.hosts,
      f.addnHosts,
      f.pid,
      f.ifindex,
      ...(state.leaseEvent !== null ? [f.leaseEvent] : []),
      ...((state.opts ?? null) !== null ? [f.opts] : []),
    ];
    steps.push(...files.map((path): Step => ({ kind: "unlink", path })));
  }
  return steps;
}
