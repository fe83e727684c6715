// The validators of a network section, as a table: which keys each checks, in the order they run. A validator
// runs for a mode that takes one of its keys (NETWORK_KEYS says which trait that needs): none compares mode names.
import type { ModeTraits } from "../modes.js";
import { checkAddress, checkDhcpRange } from "./address.js";
import { checkBridge, checkDomain, checkFlags, checkGuard, checkInterfaces } from "./basic-keys.js";
import { checkMtu, checkSnatTo, checkTaps, checkTeardown } from "./basic-keys.js";
import type { CheckContext, NetworkCheck } from "./check.js";
import { validateDns } from "./dns.js";
import { checkHosts } from "./hosts.js";
import { validateIpv6 } from "./ipv6.js";
import { NETWORK_KEYS } from "./keys.js";
import { validatePolicy } from "./policy.js";
import { validatePublish } from "./publish.js";
import { BOOT_KEYS, validateBoot } from "./tftp.js";
import { checkVlan } from "./vlan.js";
import { validateVxlan } from "./vxlan.js";

const VXLAN_KEYS = ["vxlan_id", "vxlan_dev", "vxlan_peers", "vxlan_port", "vxlan_local", "evpn", "evpn_asn", "role"];
const POLICY_KEYS = ["port_isolation", "rate", "tap.NAME.port_isolation", "tap.NAME.rate"];
const DNS_KEYS = ["dns", "dns_forwarders", "dns_srv.NAME", "dns_txt.NAME", "dns_cname.NAME", "dhcp_option.NAME"];

/** Every validator, in the order they run: a later one reads what an earlier one set (dhcp_range the address,
 *  publish the static leases, the DHCP options the domain). A new key is a row here and one in NETWORK_KEYS. */
export const NETWORK_CHECKS: readonly NetworkCheck[] = [
  { keys: ["bridge"], check: checkBridge },
  { keys: ["address"], check: checkAddress },
  { keys: ["dhcp_range"], check: checkDhcpRange },
  { keys: ["address6", "dhcp6_range"], check: checkIpv6 },
  { keys: ["uplink", "trunk"], anyMode: true, check: checkInterfaces },
  { keys: ["snat_to"], anyMode: true, check: checkSnatTo },
  { keys: ["host.NAME"], anyMode: true, check: checkHosts },
  { keys: ["publish"], check: checkPublish },
  { keys: ["taps"], check: checkTaps },
  { keys: ["guard"], check: checkGuard },
  { keys: ["default", "autostart"], check: checkFlags },
  { keys: ["mtu"], check: checkMtu },
  { keys: VXLAN_KEYS, check: (c) => validateVxlan(c.mode, c.values, c.bad) },
  { keys: ["teardown"], check: checkTeardown },
  { keys: ["vlan", "trunk"], check: checkVlan },
  { keys: POLICY_KEYS, check: (c) => ({ policy: validatePolicy(c.values, c.bad) }) },
  { keys: ["domain"], check: checkDomain },
  { keys: DNS_KEYS, check: (c) => validateDns(c.values, c.values.dhcp_range !== undefined, c.net.domain, c.bad) },
  { keys: BOOT_KEYS, check: (c) => validateBoot(c.values, c.values.dhcp_range !== undefined, c.bad) },
];

/** True when CHECK runs on a section validated with TRAITS: the mode takes one of its keys, or it runs in any. */
export function runs(check: NetworkCheck, traits: ModeTraits): boolean {
  return !!check.anyMode || check.keys.some((k) => takes(traits, k));
}

// True when a mode with TRAITS takes KEY (a name of NETWORK_KEYS).
function takes(traits: ModeTraits, key: string): boolean {
  const trait = NETWORK_KEYS[key] ?? null;
  return trait === null || !!traits[trait];
}

function checkIpv6({ name, values, bad }: CheckContext) {
  const six = validateIpv6(name, values, bad);
  if (six.address6 && values.dhcp_range === undefined)
    bad("address6", "needs dhcp_range (router advertisements come from the network's dnsmasq, which runs with DHCP)");
  return six;
}

function checkPublish({ values, net, bad }: CheckContext) {
  if (values.publish === undefined) return;
  const published = validatePublish(values.publish, net.address, net.hosts, (m) => bad("publish", m));
  return published.length ? { publish: published } : {};
}
