// Docker's DOCKER-USER chain, where kvmnet puts the rules that keep Docker's FORWARD policy DROP off its
// bridges. Docker writes its rules with whichever `iptables` its PATH finds (iptables-nft on Debian by default,
// iptables-legacy where the alternatives or the admin chose it), so both variants are looked at. Costs one or
// two processes: taken only when kvmnet changes a network's firewall anyway, or for `kvmnet up`/`down`.
import { readFileSync, realpathSync } from "node:fs";
import type { Exec } from "../host/exec.js";
import type { Network } from "../config/types.js";
import { bringsUp, detachTearsDown, type Intent } from "../intent.js";
import { parseIptablesSave } from "./iptables/save.js";

/** The two iptables variants: nf_tables (iptables-nft) and the old x_tables one (iptables-legacy). */
export type IptVariant = "nft" | "legacy";

/** Docker's chain for other software's rules. */
export const DOCKER_USER = "DOCKER-USER";

/** One DOCKER-USER chain as found: its variant and its rules as iptables-save prints them (`-A DOCKER-USER ...`). */
export interface DockerUserChain {
  variant: IptVariant;
  rules: string[];
}

/** Every DOCKER-USER chain on the host (none: no Docker, or Docker without iptables), and the variant plain
 *  `iptables-restore` (kvmnet's firewall = iptables) writes to. */
export interface DockerUserState {
  chains: DockerUserChain[];
  kvmnetVariant: IptVariant;
}

/** Read the filter table of iptables-nft, and of iptables-legacy when the kernel lists a legacy filter table
 *  (reading it through iptables-legacy-save would otherwise create one). */
export function observeDockerUser(exec: Exec, legacyTables = readLegacyTableNames()): DockerUserState {
  const chains: DockerUserChain[] = [];
  const look = (variant: IptVariant) => {
    const r = exec.tryRun(`iptables-${variant}-save`, ["-t", "filter"]);
    const filter = r.ok ? parseIptablesSave(r.stdout).filter : undefined;
    if (filter?.declared.includes(DOCKER_USER)) chains.push({ variant, rules: filter.rules[DOCKER_USER] ?? [] });
  };
  look("nft");
  if (/^filter$/m.test(legacyTables)) look("legacy");
  return { chains, kvmnetVariant: iptablesVariant() };
}

/** STATE with Docker's DOCKER-USER chains read into it when LOOK (a thorough look, or rules about to be remade). */
export function withDockerUser<S extends { docker?: DockerUserState }>(exec: Exec, state: S, look: boolean): S {
  if (look) state.docker = observeDockerUser(exec);
  return state;
}

/** Whether converging NET towards INTENT looks at DOCKER-USER even when its own rules are in place: bringing it
 *  up or down with `kvmnet up`/`down`, a hook that makes the bridge, and the down hook that tears it down (when
 *  idle, the last port leaving). The up hooks' warm path does not: a Docker started later is handled by
 *  `kvmnet up` and `kvmnet watch`. */
export function dockerLookWanted(net: Network, intent: Intent, bridge: { ports: string[] } | null): boolean {
  if (intent.action === "up" || intent.action === "down") return true;
  if (bringsUp(intent)) return !bridge;
  return detachTearsDown(net, bridge?.ports ?? [], intent.tap);
}

// The legacy (x_tables) tables the kernel holds in this network namespace, one a line ("" when none).
function readLegacyTableNames(): string {
  try {
    return readFileSync("/proc/net/ip_tables_names", "utf8");
  } catch {
    return "";
  }
}

// The variant the first `iptables-restore` in PATH is (Debian's alternatives point it at xtables-nft-multi or
// xtables-legacy-multi).
function iptablesVariant(): IptVariant {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/sbin:/usr/bin:/bin").split(":")) {
    try {
      return /legacy/.test(realpathSync(`${dir || "."}/iptables-restore`)) ? "legacy" : "nft";
    } catch {
      /* not here */
    }
  }
  return "nft";
}
