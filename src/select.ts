// Which network a TAP joins: the contract's four selection rules, in order.
import type { Config, Network } from "./config/types.js";
import { UsageError } from "./errors.js";
import { modesOf, serves, upProgramFor } from "./modes.js";
import type { HookName } from "./programs.js";

/** What selection looks at. */
export interface SelectInput {
  program: HookName;
  tap: string;
  /** $KVMNET_NETWORK */
  envNet?: string;
  /** the `@NAME` suffix of the program name as run */
  suffixNet?: string;
}

/** Pick the network for a TAP, or throw a UsageError naming the candidates. */
export function selectNetwork(config: Config, input: SelectInput): Network {
  const { program, tap } = input;
  const byName = (name: string, how: string) => {
    const net = config.networks.find((n) => n.name === name);
    if (!net)
      throw new UsageError(
        `${how} names network "${name}", which ${config.file} does not define (it has: ${names(config.networks)})`,
      );
    return checkMode(program, net, how);
  };
  if (input.envNet) return byName(input.envNet, "KVMNET_NETWORK");
  if (input.suffixNet) return byName(input.suffixNet, `the program name ${program}@${input.suffixNet}`);

  const globbed = config.networks.filter((n) => n.taps.some((g) => globMatch(g, tap)));
  if (globbed.length > 1) {
    throw new UsageError(
      `tap ${tap} matches the taps of several networks (${names(globbed)}): make the globs disjoint, or ${byProgramName(program, globbed[0]!.name)}; or KVMNET_NETWORK=NET (plain QEMU only)`,
    );
  }
  if (globbed.length === 1) return checkMode(program, globbed[0]!, `taps glob of [${globbed[0]!.name}]`);

  // Rule 4: the only network of the program's modes; else the one among them with default = yes.
  const mine = config.networks.filter((n) => serves(program, n.memberOf ?? n.mode));
  if (mine.length === 1) return mine[0]!;
  const defaults = mine.filter((n) => n.isDefault);
  if (defaults.length === 1) return defaults[0]!;
  if (mine.length === 0) {
    throw new UsageError(
      `${config.file} has no network that ${program} serves (${describeModes(program)}); networks: ${names(config.networks) || "none"}`,
    );
  }
  throw new UsageError(`tap ${tap} could join any of ${names(mine)}: ${howToChoose(config, program, mine)}`);
}

// The ways to choose, those that work under libvirt first: libvirt runs scripts with no environment but
// LC_ALL, PATH and HOME, and renames a <target dev> that starts with vnet or macvtap to one of its own.
function howToChoose(config: Config, program: HookName, mine: Network[]): string {
  const first = mine[0]!.name;
  const other = config.networks.find((n) => n.isDefault);
  const moveDefault = other ? ` (moved from [${other.name}]: a file has one default)` : "";
  return [
    `choose one: ${byProgramName(program, first)}`,
    `or a taps glob in one network, such as taps = ${first}-* (libvirt: give <target dev='${first}-0'/>, since names starting with vnet or macvtap are its own)`,
    `or default = yes in one of them${moveDefault}`,
    "or KVMNET_NETWORK=NET in QEMU's environment (plain QEMU only: libvirt passes scripts no environment)",
  ].join("; ");
}

function byProgramName(program: HookName, example: string): string {
  return `run this program as ${program}@NET (a link to it such as /etc/${program}@${example}, given as the script)`;
}

function checkMode(program: HookName, net: Network, how: string): Network {
  if (serves(program, net.memberOf ?? net.mode)) return net;
  throw new UsageError(
    `network ${net.name} (chosen by ${how}) is a ${net.mode} network, which ${program} does not serve (${describeModes(program)}); use ${upProgramFor(net.mode)} or the generic qemu-ifup/qemu-ifdown`,
  );
}

function describeModes(program: HookName): string {
  const m = modesOf(program);
  return m === "any" ? "any mode" : `mode ${m.join(" or ")}`;
}

function names(nets: Network[]): string {
  return nets.map((n) => n.name).join(", ");
}

/** Shell-style glob match of an interface name (`*`, `?`, `[...]`). */
export function globMatch(glob: string, name: string): boolean {
  const re = glob
    .replace(/[.+^${}()|\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  try {
    return new RegExp(`^${re}$`).test(name);
  } catch {
    return false;
  }
}
