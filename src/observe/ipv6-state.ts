// What a network with `address6` needs to know of the host's IPv6, from /proc alone: the bridge's addresses
// (/proc/net/if_inet6 lists them whatever the link state), forwarding, and which interfaces would stop taking
// router advertisements once forwarding is on.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { Config, Network } from "../config/types.js";
import { canonical6 } from "../ipv6.js";

/** The host's IPv6 as far as one network is concerned. */
export interface Ipv6Observed {
  /** net.ipv6.conf.all.forwarding is 1. */
  forwarding: boolean;
  /** New interfaces start with IPv6 off (net.ipv6.conf.default.disable_ipv6 = 1). */
  defaultOff: boolean;
  /** The bridge's IPv6 addresses as ADDRESS/PREFIX (link-local ones too). */
  bridgeAddrs: string[];
  /** With forwarding off: the host's own interfaces with accept_ra = 1, which ignore router advertisements once
   *  forwarding is on (their SLAAC default route would then expire). Not kvmnet's bridges nor bridge ports. */
  acceptRaOnlyHost: string[];
}

const CONF = "/proc/sys/net/ipv6/conf";

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/** The addresses /proc/net/if_inet6 lists for DEV. */
export function parseIfInet6(text: string, dev: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 6 && f[5] === dev)
    .map((f) => `${canonical6(f[0]!.match(/.{4}/g)!.join(":"))}/${parseInt(f[2]!, 16)}`);
}

// ifa_flags as /proc/net/if_inet6 shows them: kvmnet adds its bridge addresses static and with nodad.
const IFA_F_NODAD = 0x02;
const IFA_F_PERMANENT = 0x80;

/** The addresses /proc/net/if_inet6 lists for DEV that kvmnet puts there: global scope, static, added nodad. */
export function parseOwnIfInet6(text: string, dev: string): string[] {
  const mark = IFA_F_NODAD | IFA_F_PERMANENT;
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 6 && f[5] === dev && f[3] === "00" && (parseInt(f[4]!, 16) & mark) === mark)
    .map((f) => `${canonical6(f[0]!.match(/.{4}/g)!.join(":"))}/${parseInt(f[2]!, 16)}`);
}

/** The IPv6 addresses kvmnet put on NET's bridge (see parseOwnIfInet6), read when the bridge has IPv6 on. */
export function observeOwnBridge6(net: Network, ipv6On: boolean): string[] {
  return ipv6On ? parseOwnIfInet6(read("/proc/net/if_inet6") ?? "", net.bridge) : [];
}

/** Observe what NET's IPv6 needs; null when NET has no address6 or the host no IPv6. */
export function observeIpv6(config: Config, net: Network): Ipv6Observed | null {
  if (!net.address6 || !existsSync(`${CONF}/all`)) return null;
  const forwarding = read(`${CONF}/all/forwarding`) === "1";
  const bridges = new Set(config.networks.map((n) => n.bridge));
  const acceptRaOnlyHost = forwarding
    ? []
    : readdirSync(CONF).filter(
        (i) =>
          i !== "all" &&
          i !== "default" &&
          i !== "lo" &&
          !bridges.has(i) &&
          !existsSync(`/sys/class/net/${i}/master`) &&
          read(`${CONF}/${i}/accept_ra`) === "1",
      );
  return {
    forwarding,
    defaultOff: read(`${CONF}/default/disable_ipv6`) === "1",
    bridgeAddrs: parseIfInet6(read("/proc/net/if_inet6") ?? "", net.bridge),
    acceptRaOnlyHost,
  };
}
