// The firewall backend as one interface: everything kvmnet does with its firewall tool goes through it, and each
// tool (src/firewall/nft/, src/firewall/iptables/) implements all of it. Code outside src/firewall/ asks a
// backend's capabilities, never its name.
import type { Exec } from "../host/exec.js";
import type { Firewall, Network } from "../config/types.js";
import type { Step } from "../core/steps.js";
import type { FirewallState } from "./state.js";

/** What a backend can do beyond the IPv4 rules every one has (forward, input, NAT, counters). */
export interface FirewallCaps {
  /** IPv6 twins of the rules and NAT66 (address6). */
  ipv6: boolean;
  /** Ports of the host forwarded to guests (publish). */
  publish: boolean;
  /** The per-VM guard works beside it (guard = yes: its bridge-family table is nft's whichever backend runs). */
  guard: boolean;
  /** All networks' rules meet in chains every network's hook writes: changes need the host-wide lock. */
  sharedChains: boolean;
  /** Its chains are jumped from the top of plain iptables' built-in INPUT and FORWARD, so they come before
   *  another program's rules (and drop policy) there. */
  firstInBuiltins: boolean;
  /** Firewall rules between networks, from outside and out (allow_in/deny_in/allow_out/deny_out). */
  acl: boolean;
}

/** Packets and bytes of one counter. */
export interface Count {
  packets: number;
  bytes: number;
}

/** A network's counters: forwarded out of its bridge and allowed, into it and allowed, from the bridge to itself,
 *  source-NATed (connections), forwarded and rejected. */
export type RuleCounts = Record<"from" | "to" | "cross" | "nat" | "reject", Count>;

/** A program a backend runs, and the Debian package that has it. */
export interface FirewallTool {
  cmd: string;
  pkg: string;
}

/** What kvmnet does with one firewall tool. Each backend also removes what the other left behind (a switch of
 *  `firewall =` while networks are up), as CNI tears down both. */
export interface FirewallBackend {
  /** The `firewall =` value that selects it (shown by status and plan). */
  readonly name: Firewall;
  readonly caps: FirewallCaps;
  /** Why it lacks each capability it lacks, as the config error says it ("has IPv4 rules only ..."). */
  readonly lacks: Partial<Record<"ipv6" | "publish" | "guard" | "acl", string>>;
  /** The programs it runs. */
  readonly tools: FirewallTool[];
  /** Read what exists of NET's rules (one process on the warm path); THOROUGH: Docker's DOCKER-USER and kvmnet
   *  0.1's layout too. */
  observe(exec: Exec, net: Network, thorough?: boolean): FirewallState;
  /** The look went past the quick one (NET's rules were not in place): they are being (re)made. */
  remaking(state: FirewallState): boolean;
  /** Steps that make NET's own rules exactly the rendered ones (and remove the other backend's); [] when they are. */
  upSteps(net: Network, state: FirewallState): Step[];
  /** Steps after NET's rules changed: flows that would keep going by the old rules, ended. */
  staleFlowSteps(net: Network, state: FirewallState): Step[];
  /** Steps that remove NET's rules of either backend, and the shared objects when no network is left in them. */
  downSteps(net: Network, state: FirewallState): Step[];
  /** None of NET's rules exist (status: "missing" rather than "outdated"). */
  absent(net: Network, state: FirewallState): boolean;
  /** kvmnet 0.1's layout of NET is there (status: "old layout, replaced on the next up"). */
  oldLayout(net: Network, state: FirewallState): boolean;
  /** NET's rules as text in the form the backend loads them, for `kvmnet plan`; null when NET needs none. */
  rulesText(net: Network): string | null;
  /** The heading of rulesText in `kvmnet plan`. */
  rulesTitle(net: Network): string;
  /** What holds NET's rules, for `kvmnet status`. */
  objects(net: Network): string;
  /** The counters of every network in NETS (null: its rules are not there), in one process. */
  readCounts(exec: Exec, nets: Network[]): Map<string, RuleCounts | null>;
  /** Per network of NETS with firewall rules (ACLs): each rule's key → its count, in one process; null: the
   *  backend has no such rules. */
  readAclCounts(exec: Exec, nets: Network[]): Map<string, Record<string, Count>> | null;
  /** Where NET's rules in Docker's DOCKER-USER hand traffic when kvmnet's own chains share that table (the chain
   *  decides then; an ACCEPT there would skip it); null: they accept. */
  dockerUserJump(net: Network): string | null;
}
