// Deciding, from one observation, every step that brings a network up or down and a TAP on or off it.
import type { Config, Network } from "../config/types.js";
import type { Observed } from "../observe/snapshot.js";
import { attachLines, bridgeLines, detachLines, isOurBridge, tapMtu } from "./bridge.js";
import { dnsmasqDownSteps, dnsmasqUpSteps } from "./dnsmasq-steps.js";
import { firewalldDownSteps, firewalldUpSteps } from "./firewalld-steps.js";
import { dockerUserDownSteps, dockerUserUpSteps } from "../firewall/docker-user.js";
import { firewallDownSteps, firewallStaleFlowSteps, firewallUpSteps } from "../firewall/up-down.js";
import { traits } from "../modes.js";
import { ipv6StaleSteps, ipv6UpSteps } from "./ipv6-steps.js";
import { raOffSteps } from "./ra.js";
import { csumSteps } from "./csum-steps.js";
import { renderDnsmasq } from "../render/dnsmasq-conf.js";
import { firewallBackend } from "../firewall/choose-backend.js";
import { bridgeModeUpSteps, ipv6OffSteps } from "./mode-steps.js";
import type { Step } from "../core/steps.js";
import { vlanDownLines } from "./vlan.js";
import { vxlanDownSteps, vxlanUpSteps } from "./vxlan-steps.js";
import { resolvedDownSteps, resolvedUpSteps } from "./resolved-steps.js";
import { detachTearsDown } from "../intent.js";

const FORWARD = "/proc/sys/net/ipv4/ip_forward";

/** Steps that bring NET up (bridge, address, forwarding, rules, dnsmasq), in that order. */
export function decideNetworkUp(config: Config, net: Network, obs: Observed, tapName?: string): Step[] {
  if (!traits(net).ownBridge)
    return [...bridgeModeUpSteps(net, obs), ...dockerUserUpSteps(net, firewallBackend(config.firewall), obs.docker)];
  const steps: Step[] = [];
  // The taps of running VMs take a changed mtu with the bridge (first, so raising it never leaves the bridge above
  // its ports' limit); the guests learn it from their next lease (DHCP option 26).
  const ports = Object.entries(obs.portMtus).filter(([p, m]) => p !== tapName && m !== net.mtu);
  const ip = [
    ...ports.map(([p]) => `link set dev ${p} mtu ${net.mtu}`),
    ...bridgeLines(net, obs.bridge, obs.bridgeAddrs, obs.hostName),
  ];
  if (ip.length) steps.push({ kind: "ip", lines: ip });
  // Before any port joins (the VXLAN device, the taps): from then on an RA could reach the bridge.
  steps.push(...raOffSteps(net, obs.bridge, obs.mode));
  steps.push(...vxlanUpSteps(net, obs.vxlan));
  const dhcp = renderDnsmasq(config, net) !== null;
  steps.push(...csumSteps(net, dhcp, obs.csum.supported, obs.bridge === null, obs.csum.has));
  const back = reattachLines(net, obs, tapName);
  if (back.length) steps.push({ kind: "ip", lines: back });
  steps.push(
    ...ipv6StaleSteps(net, obs),
    ...ipv6OffSteps(net, obs.bridge !== null, obs.mode),
    ...ipv6UpSteps(net, obs),
  );
  if (traits(net).forwarding && !obs.forwarding) steps.push({ kind: "sysctl", path: FORWARD, value: "1" });
  steps.push(...firewallUpSteps(net, obs.firewall), ...firewallStaleFlowSteps(net, obs.firewall));
  steps.push(...firewalldUpSteps(net, obs.firewalld ?? null), ...dnsmasqUpSteps(config, net, obs.dnsmasq));
  // After dnsmasq: resolved's first query to the bridge finds it answering.
  steps.push(...resolvedUpSteps(config, net, obs.resolved));
  return steps;
}

/** When the bridge is about to be made (again), the taps of VMs still running that its `taps` globs match and
 *  that are on no bridge: they lost it when it was deleted, and their VMs would stay cut off. */
export function reattachLines(net: Network, obs: Observed, tapName?: string): string[] {
  if (obs.bridge) return [];
  const strays = obs.strays.filter((l) => l.name !== tapName);
  return strays.flatMap((l) => attachLines(net, l, tapMtu(net, null)));
}

/** Steps that detach TAP and, if NET tears down when idle and no other port is left, remove NET. */
export function decideDown(config: Config, net: Network, obs: Observed, tapName: string): Step[] {
  const steps: Step[] = [];
  const detach = detachLines(net, obs.tap);
  if (detach.length) steps.push({ kind: "ip", lines: detach });
  if (detachTearsDown(net, obs.bridge?.ports ?? [], tapName)) steps.push(...decideNetworkDown(config, net, obs));
  return steps;
}

/** Steps that remove what kvmnet made for NET: dnsmasq, rules, and the bridge if kvmnet created it. */
export function decideNetworkDown(config: Config, net: Network, obs: Observed): Step[] {
  const firewall = obs.firewall ? firewallDownSteps(net, obs.firewall) : dockerUserDownSteps(net, obs.docker);
  const steps = [
    // First: no query of the host goes to the bridge while its dnsmasq stops.
    ...resolvedDownSteps(config, net, obs.resolved),
    ...dnsmasqDownSteps(config, net, obs.dnsmasq),
    ...firewall,
    ...firewalldDownSteps(net, obs.firewalld ?? null),
    ...vxlanDownSteps(net, obs.vxlan),
  ];
  if (obs.bridge && isOurBridge(net, obs.bridge, obs.hostName))
    steps.push({ kind: "ip", lines: [`link delete dev ${net.bridge}`, ...vlanDownLines(net, obs.mode)] });
  return steps;
}
