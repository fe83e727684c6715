// Modes in one table: the modes that take each network key come from the traits (src/modes.ts) through the
// trait each key needs (config/keys.ts), and each key has its validator in the table of config/network-checks.ts.
import { describe, expect, it } from "vitest";
import { NETWORK_KEYS, modesTaking } from "../../src/config/keys.js";
import { NETWORK_CHECKS, runs } from "../../src/config/network-checks.js";
import { MODES } from "../../src/config/types.js";
import { TRAITS } from "../../src/modes.js";
import { problems } from "../helpers/problems.js";

const ALL = ["nat", "routed", "host-only", "isolated", "bridge"];
const ADDRESSED = ["nat", "routed", "host-only"];
const OWN = ["nat", "routed", "host-only", "isolated"];

// The modes each key was accepted by when they were listed by hand (0.3.0): the traits must give the same.
const BY_HAND: Record<string, string[]> = {
  mode: ALL,
  bridge: ALL,
  address: ADDRESSED,
  dhcp_range: ADDRESSED,
  address6: ADDRESSED,
  dhcp6_range: ADDRESSED,
  uplink: ["nat", "routed", "bridge"],
  snat_to: ["nat"],
  publish: ["nat"],
  guard: ADDRESSED,
  "host.NAME": ADDRESSED,
  taps: ALL,
  default: ALL,
  mtu: ALL,
  teardown: ALL,
  autostart: ALL,
  vlan: ["bridge"],
  trunk: ["bridge"],
  domain: ADDRESSED,
  vxlan_id: OWN,
  vxlan_dev: OWN,
  vxlan_peers: OWN,
  vxlan_port: OWN,
  vxlan_local: OWN,
  evpn: OWN,
  evpn_asn: OWN,
  role: ADDRESSED,
  port_isolation: OWN,
  rate: OWN,
  "tap.NAME.port_isolation": OWN,
  "tap.NAME.rate": OWN,
  dns: ADDRESSED,
  tftp_root: ADDRESSED,
  boot_file: ADDRESSED,
  boot_file_efi: ADDRESSED,
  boot_file_ipxe: ADDRESSED,
  boot_server: ADDRESSED,
  dns_forwarders: ADDRESSED,
  "dns_srv.NAME": ADDRESSED,
  "dns_txt.NAME": ADDRESSED,
  "dns_cname.NAME": ADDRESSED,
  "dhcp_option.NAME": ADDRESSED,
};

describe("network keys and the modes' traits", () => {
  it("give every key the modes it had when they were listed by hand, in the contract's order", () => {
    const derived = Object.fromEntries(Object.keys(BY_HAND).map((k) => [k, [...modesTaking(k)]]));
    expect(derived).toEqual(BY_HAND);
    expect(Object.keys(BY_HAND).filter((k) => !Object.hasOwn(NETWORK_KEYS, k))).toEqual([]);
  });

  it("a key that needs no trait is taken by every mode; one that needs a trait only by the modes with it", () => {
    expect(modesTaking("teardown")).toEqual(MODES);
    expect(modesTaking("snat_to")).toEqual(MODES.filter((m) => TRAITS[m].nat));
    expect(modesTaking("vlan")).toEqual(["bridge"]);
  });

  it("every key but mode has a validator, and every validator's keys are network keys", () => {
    const checked = new Set(NETWORK_CHECKS.flatMap((c) => c.keys));
    expect(Object.keys(NETWORK_KEYS).filter((k) => k !== "mode" && !checked.has(k))).toEqual([]);
    expect([...checked].filter((k) => !Object.hasOwn(NETWORK_KEYS, k))).toEqual([]);
  });

  it("a validator runs for the modes that take one of its keys (or for all with anyMode)", () => {
    const vlan = NETWORK_CHECKS.find((c) => c.keys.includes("vlan"))!;
    expect(MODES.filter((m) => runs(vlan, TRAITS[m]))).toEqual(["bridge"]);
    const vxlan = NETWORK_CHECKS.find((c) => c.keys.includes("vxlan_id"))!;
    expect(MODES.filter((m) => runs(vxlan, TRAITS[m]))).toEqual(OWN);
    const snat = NETWORK_CHECKS.find((c) => c.keys.includes("snat_to"))!;
    expect(MODES.filter((m) => runs(snat, TRAITS[m]))).toEqual(ALL);
  });
});

describe("a section without a valid mode", () => {
  it("still has the values that need no mode checked, and no key said to be missing", () => {
    expect(
      problems("[a]\nmode = natt\nbridge = b0\nmtu = 9\nvxlan_id = 0\nvxlan_dev = lo\nvxlan_peers = 203.0.113.9\n"),
    ).toEqual([
      '2: mode: "natt" is not a mode: use nat | routed | host-only | isolated | bridge',
      '4: mtu: "9" is not an MTU between 68 and 65535',
      '5: vxlan_id: "0" is not a VNI 1..16777215',
    ]);
  });
});
