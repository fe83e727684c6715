// Finding a network's own dnsmasq by its pid file (never by name), and what config it runs with.
import { readFileSync } from "node:fs";
import type { Config, Network } from "../config/types.js";
import { dnsmasqFiles } from "../render/names.js";

/** The dnsmasq of a network as found. */
export interface DnsmasqState {
  /** pid of a live dnsmasq started with our config file, or null. */
  pid: number | null;
  /** Current contents of our config, hostsfile and addn-hosts (null when missing). */
  conf: string | null;
  hosts: string | null;
  addnHosts: string | null;
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** True when PID is alive and is a dnsmasq started with --conf-file=CONF. */
export function isOurDnsmasq(pid: number, conf: string): boolean {
  const argv = (readOr(`/proc/${pid}/cmdline`) ?? "").split("\0");
  return argv.some((a) => a.endsWith("dnsmasq")) && argv.includes(`--conf-file=${conf}`);
}

/** Observe NET's dnsmasq: pid file, liveness, rendered files. */
export function observeDnsmasq(config: Config, net: Network): DnsmasqState {
  const f = dnsmasqFiles(config, net);
  const pid = Number(readOr(f.pid)?.trim());
  return {
    pid: pid > 0 && isOurDnsmasq(pid, f.conf) ? pid : null,
    conf: readOr(f.conf),
    hosts: readOr(f.hosts),
    addnHosts: readOr(f.addnHosts),
  };
}
