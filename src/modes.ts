// The one place that knows what each network mode is: which hook programs serve it and what the host does for it.
// Everything else asks here (`traits(net).nat`) instead of comparing mode names.
import { MODES, type Mode } from "./config/types.js";
import { HOOKS, type HookName } from "./programs.js";

/** What a mode means for the host. */
export interface ModeTraits {
  /** The hook to name for it in a "wrong program" error; the generic qemu-ifup/qemu-ifdown serve every mode. */
  upProgram: HookName;
  /** The mode-specific hooks that serve it (besides the generic ones). */
  programs: readonly HookName[];
  /** The host has an address on the bridge (the guests' gateway). */
  address: boolean;
  /** kvmnet's dnsmasq may serve DHCP and DNS on the bridge (with dhcp_range). */
  dhcp: boolean;
  /** DHCP gives the guests a default route through the host. */
  router: boolean;
  /** Guests' traffic is forwarded beyond the host (needs net.ipv4.ip_forward = 1). */
  forwarding: boolean;
  /** Forwarded traffic is source-NATed. */
  nat: boolean;
  /** kvmnet makes the bridge itself (bridge mode attaches to the admin's, or builds one over the uplink). */
  ownBridge: boolean;
  /** The bridge gets IPv6 off (a host-only network with address6 keeps it): the mode promises nothing beyond it. */
  ipv6Off: boolean;
  /** kvmnet's firewall rules guard the bridge (its input and forward chains); the admin's bridge gets none. */
  firewall: boolean;
  /** What `uplink` names: the way forwarded traffic leaves ("egress"), the NIC the bridge is built over, its
   *  addresses moved onto the bridge ("port"), or nothing (null: the mode takes no uplink). */
  uplink: "egress" | "port" | null;
  /** The network may be a VLAN of a trunk NIC (`vlan`, `trunk`): a bridge of its own over TRUNK.VID. */
  vlan: boolean;
}

/** The traits a network key may need (a mode takes the key when its trait is set): every trait but the hooks. */
export type KeyTrait = Exclude<keyof ModeTraits, "upProgram" | "programs">;

/** Every mode's traits. */
export const TRAITS: Record<Mode, ModeTraits> = {
  nat: {
    upProgram: "qemu-natup",
    programs: ["qemu-natup", "qemu-natdown"],
    address: true,
    dhcp: true,
    router: true,
    forwarding: true,
    nat: true,
    ownBridge: true,
    ipv6Off: false,
    firewall: true,
    uplink: "egress",
    vlan: false,
  },
  routed: {
    upProgram: "qemu-ifup",
    programs: [],
    address: true,
    dhcp: true,
    router: true,
    forwarding: true,
    nat: false,
    ownBridge: true,
    ipv6Off: false,
    firewall: true,
    uplink: "egress",
    vlan: false,
  },
  "host-only": {
    upProgram: "qemu-ifup-isolated",
    programs: ["qemu-ifup-isolated"],
    address: true,
    dhcp: true,
    router: false,
    forwarding: false,
    nat: false,
    ownBridge: true,
    ipv6Off: true,
    firewall: true,
    uplink: null,
    vlan: false,
  },
  isolated: {
    upProgram: "qemu-ifup-isolated",
    programs: ["qemu-ifup-isolated"],
    address: false,
    dhcp: false,
    router: false,
    forwarding: false,
    nat: false,
    ownBridge: true,
    ipv6Off: true,
    firewall: true,
    uplink: null,
    vlan: false,
  },
  bridge: {
    upProgram: "qemu-ifup-bridge",
    programs: ["qemu-ifup-bridge"],
    address: false,
    dhcp: false,
    router: false,
    forwarding: false,
    nat: false,
    ownBridge: false,
    ipv6Off: false,
    firewall: false,
    uplink: "port",
    vlan: true,
  },
};

/** The traits of NET's mode. */
export function traits(net: { mode: Mode }): ModeTraits {
  return TRAITS[net.mode];
}

/** True when PROGRAM serves networks of MODE. */
export function serves(program: HookName, mode: Mode): boolean {
  return HOOKS[program].generic || TRAITS[mode].programs.includes(program);
}

/** The modes PROGRAM serves ("any" for the generic hooks). */
export function modesOf(program: HookName): readonly Mode[] | "any" {
  return HOOKS[program].generic ? "any" : MODES.filter((m) => serves(program, m));
}

/** The modes that take a key needing TRAIT (null: every mode), in the contract's order. */
export function modesWith(trait: KeyTrait | null): readonly Mode[] {
  return trait === null ? MODES : MODES.filter((m) => !!TRAITS[m][trait]);
}

/** The specific up-program for MODE (the one to name in a "wrong program" error). */
export function upProgramFor(mode: Mode): HookName {
  return TRAITS[mode].upProgram;
}
