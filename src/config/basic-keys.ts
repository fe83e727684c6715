// Validators of the keys whose value stands on its own: a name, an address, a number, yes or no.
import { badName } from "../core/ifname.js";
import { DEFAULT_ROUTE_BRIDGE } from "../core/names.js";
import { isIPv4 } from "../ipv4.js";
import type { Check } from "./check.js";
import { badDomain } from "./domain.js";
import { parseBool } from "./keys.js";
import { show } from "./value.js";

const GLOB = /^[A-Za-z0-9_.\-*?[\]]+$/;

/** `bridge`: an interface name; DEFAULT_ROUTE_BRIDGE (the bridge of the default route) only for the admin's. */
export const checkBridge: Check = ({ traits, values, bad, name }) => {
  if (values.bridge === undefined)
    bad("bridge", `missing in [${show(name).slice(1, -1)}]: name the bridge (at most 15 characters)`);
  else if (values.bridge === DEFAULT_ROUTE_BRIDGE) {
    if (traits.ownBridge)
      bad(
        "bridge",
        `${DEFAULT_ROUTE_BRIDGE} is only for mode = bridge (a ${values.mode ?? "nat"} network needs a bridge of its own)`,
      );
    else if (values.uplink !== undefined || values.vlan !== undefined)
      bad("bridge", `${DEFAULT_ROUTE_BRIDGE} attaches to an existing bridge: it takes no uplink or vlan`);
  } else {
    const why = badName(values.bridge);
    if (why) bad("bridge", why);
  }
};

/** `uplink`, `trunk`: interface names. */
export const checkInterfaces: Check = ({ values, bad }) => {
  const out: { uplink?: string; trunk?: string } = {};
  for (const key of ["uplink", "trunk"] as const) {
    if (values[key] === undefined) continue;
    const why = badName(values[key]!);
    if (why) bad(key, why);
    else out[key] = values[key];
  }
  return out;
};

/** `snat_to`: the source address of NATed traffic. */
export const checkSnatTo: Check = ({ values, bad }) => {
  if (values.snat_to === undefined) return;
  if (isIPv4(values.snat_to)) return { snatTo: values.snat_to };
  bad("snat_to", `${show(values.snat_to)} is not an IPv4 address`);
};

/** `taps`: interface-name globs of the VMs' taps that join the bridge. */
export const checkTaps: Check = ({ values, bad }) => {
  if (values.taps === undefined) return;
  const taps = values.taps
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const wrong = taps.find((g) => !GLOB.test(g) || g.length > 64);
  if (wrong !== undefined || taps.length === 0)
    bad("taps", `${show(wrong ?? values.taps)} is not a list of interface-name globs such as vnet*, lab-*`);
  return { taps };
};

/** `guard`: per-VM anti-spoofing, from the addresses the leases give. */
export const checkGuard: Check = ({ values, bad }) => {
  if (values.guard === undefined) return;
  const b = parseBool(values.guard);
  if (b === null) bad("guard", `${show(values.guard)} is not yes or no (nor true/false, on/off, 1/0)`);
  else if (b && values.dhcp_range === undefined)
    bad("guard", "needs dhcp_range (a guarded guest may send only from the addresses its leases give it)");
  else if (b) return { guard: true };
};

/** `default`, `autostart`: yes or no. */
export const checkFlags: Check = ({ values, bad }) => {
  const out: { isDefault?: boolean; autostart?: boolean } = {};
  for (const [key, field] of [
    ["default", "isDefault"],
    ["autostart", "autostart"],
  ] as const) {
    if (values[key] === undefined) continue;
    const b = parseBool(values[key]!);
    if (b === null) bad(key, `${show(values[key]!)} is not yes or no (nor true/false, on/off, 1/0)`);
    else out[field] = b;
  }
  return out;
};

/** `mtu`: the bridge's and its ports' MTU. */
export const checkMtu: Check = ({ values, bad }) => {
  if (values.mtu === undefined) return;
  const n = Number(values.mtu);
  if (/^\d+$/.test(values.mtu) && n >= 68 && n <= 65535) return { mtu: n };
  bad("mtu", `${show(values.mtu)} is not an MTU between 68 and 65535`);
};

/** `teardown`: keep the network up, or take it down with its last VM. */
export const checkTeardown: Check = ({ values, bad }) => {
  const v = values.teardown;
  if (v === undefined) return;
  if (v === "keep" || v === "when-idle") return { teardown: v };
  bad("teardown", `${show(v)} is not keep or when-idle`);
};

/** `domain`: the guests' DNS domain, served by the network's dnsmasq. */
export const checkDomain: Check = ({ values, bad }) => {
  if (values.domain === undefined) return;
  const why = badDomain(values.domain);
  if (why) bad("domain", why);
  else if (values.dhcp_range === undefined)
    bad("domain", "needs dhcp_range (the network's DNS is served by its dnsmasq, which runs with DHCP)");
  else return { domain: values.domain };
};
