// What the networks ask of the firewall backend, checked against what it can do: a key that needs a capability
// the chosen backend lacks is a config error at its line, before anything changes.
import type { Config, Network } from "../config/types.js";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { firewallBackend } from "./choose-backend.js";
import type { FirewallCaps } from "./backend-types.js";
import { iptables } from "./iptables/backend.js";
import { nftables } from "./nft/backend.js";

type Feature = "ipv6" | "publish" | "guard" | "acl";

// The key that asks for each capability, and whether NET asks for it.
const NEEDS: { feature: Feature; key: string; uses: (n: Network) => boolean }[] = [
  { feature: "ipv6", key: "address6", uses: (n) => !!n.address6 },
  { feature: "publish", key: "publish", uses: (n) => !!n.publish },
  { feature: "guard", key: "guard", uses: (n) => !!n.guard },
  { feature: "acl", key: "allow_in.NAME", uses: (n) => !!n.acl?.length },
];

// Each key of NET that asks for FEATURE: the NEEDS key, or every firewall rule (each is its own key and line).
function asking(n: Network, feature: Feature, key: string, uses: (n: Network) => boolean): string[] {
  if (feature === "acl") return (n.acl ?? []).map((r) => r.key);
  return uses(n) ? [key] : [];
}

/** Each use in CONFIG of a capability its backend lacks, at the key's line, naming a backend that has it. */
export function capsProblems(config: Config): ConfigProblem[] {
  const backend = firewallBackend(config.firewall);
  const caps: FirewallCaps = backend.caps;
  const out: ConfigProblem[] = [];
  for (const n of config.networks)
    for (const { feature, key, uses } of NEEDS) {
      if (caps[feature]) continue;
      const other = [nftables, iptables].find((b) => b.caps[feature]);
      for (const k of asking(n, feature, key, uses))
        out.push({
          file: config.file,
          line: n.lines[k] ?? 0,
          key: k,
          message: `needs firewall = ${other?.name ?? "another backend"}: kvmnet's ${backend.name} backend ${backend.lacks[feature] ?? `has no ${feature}`}`,
        });
    }
  return out.sort((a, b) => a.line - b.line);
}

/** CONFIG, when its firewall backend can do what its networks ask; else a ConfigError listing what it cannot. */
export function checkFirewallCaps(config: Config): Config {
  const problems = capsProblems(config);
  if (problems.length) throw new ConfigError(problems);
  return config;
}
