// Deciding, from one observation, every step that brings a network up or down and a TAP on or off it.
import type { Config, Network } from "../config/types.js";
import type { ObservedAll as Observed } from "../observe/mode.js";
import { attachLines, bridgeLines, detachLines, isOurBridge, tapMtu } from "./bridge.js";
import { dnsmasqDownSteps, dnsmasqUpSteps } from "./dnsmasq.js";
import { firewallDownSteps, firewallUpSteps } from "./firewall.js";
import { bridgeModeUpSteps, hostPorts, ipv6OffSteps } from "./modes.js";
import type { Step } from "./steps.js";
import { vlanDownLines } from "./vlan.js";

const FORWARD = "/proc/sys/net/ipv4/ip_forward";

/** Steps that bring NET up (bridge, address, forwarding, rules, dnsmasq), in that order. */
export function decideNetworkUp(config: Config, net: Network, obs: Observed): Step[] {
  if (net.mode === "bridge") return bridgeModeUpSteps(net, obs);
  const steps: Step[] = [];
  const ip = bridgeLines(net, obs.bridge, obs.bridgeAddrs);
  if (ip.length) steps.push({ kind: "ip", lines: ip });
  steps.push(...ipv6OffSteps(net, obs.bridge !== null, obs.mode));
  if ((net.mode === "nat" || net.mode === "routed") && !obs.forwarding) steps.push({ kind: "sysctl", path: FORWARD, value: "1" });
  steps.push(...firewallUpSteps(net, obs.firewall));
  steps.push(...dnsmasqUpSteps(config, net, obs.dnsmasq));
  return steps;
}

/** Steps that bring NET up and then attach TAP (which must exist). */
export function decideUp(config: Config, net: Network, obs: Observed): Step[] {
  const steps = decideNetworkUp(config, net, obs);
  const attach = obs.tap ? attachLines(net, obs.tap, tapMtu(net, obs.bridge)) : [];
  if (attach.length) steps.push({ kind: "ip", lines: attach });
  return steps;
}

/** Steps that detach TAP and, if NET tears down when idle and no other port is left, remove NET. */
export function decideDown(config: Config, net: Network, obs: Observed, tapName: string): Step[] {
  const steps: Step[] = [];
  const detach = detachLines(net, obs.tap);
  if (detach.length) steps.push({ kind: "ip", lines: detach });
  const others = (obs.bridge?.ports ?? []).filter((p) => p !== tapName && !hostPorts(net).includes(p));
  if (net.teardown === "when-idle" && others.length === 0) steps.push(...decideNetworkDown(config, net, obs));
  return steps;
}

/** Steps that remove what kvmnet made for NET: dnsmasq, rules, and the bridge if kvmnet created it. */
export function decideNetworkDown(config: Config, net: Network, obs: Observed): Step[] {
  const steps = [...dnsmasqDownSteps(config, net, obs.dnsmasq), ...firewallDownSteps(net, obs.firewall)];
  if (obs.bridge && isOurBridge(net, obs.bridge)) steps.push({ kind: "ip", lines: [`link delete dev ${net.bridge}`, ...vlanDownLines(net, obs.mode)] });
  return steps;
}
