// Which networks a command works on: NET, --all, --autostart, or the `kvmnet@NET` suffix.
import { configPath, loadConfig } from "../config/load.js";
import type { Config, Network } from "../config/types.js";
import { UsageError } from "../errors.js";
import { checkFirewallCaps } from "../firewall/caps.js";

/** The config named by ENV ($KVMNET_CONFIG, else /etc/kvmnet.conf), loaded and validated (its firewall backend
 *  can do what its networks ask). */
export function configFrom(env: NodeJS.ProcessEnv): Config {
  return checkFirewallCaps(loadConfig(configPath(env)));
}

/** The network called NAME, or a usage error listing the ones the config has. */
export function findNetwork(config: Config, name: string): Network {
  const net = config.networks.find((n) => n.name === name);
  if (!net) {
    const have = config.networks.map((n) => n.name).join(", ") || "none";
    throw new UsageError(`no network "${name}" in ${config.file} (it has: ${have})`);
  }
  return net;
}

/** How a command was told which networks to act on. */
export interface Which {
  net?: string;
  all?: boolean;
  autostart?: boolean;
}

/** The networks WHICH names; exactly one way of naming them is allowed. */
export function pickNetworks(config: Config, which: Which, command: string): Network[] {
  const ways = [which.net !== undefined, !!which.all, !!which.autostart].filter(Boolean).length;
  if (ways === 0)
    throw new UsageError(
      `${command}: name a network, or --all${command === "up" ? " or --autostart" : ""} (see kvmnet ${command} --help)`,
    );
  if (ways > 1)
    throw new UsageError(
      `${command}: give either a network name${command === "up" ? ", --all or --autostart" : " or --all"}, not several`,
    );
  if (which.net !== undefined) return [findNetwork(config, which.net)];
  return config.networks.filter((n) => which.all || n.autostart);
}
