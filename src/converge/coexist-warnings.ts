// The once-only coexistence warnings of `kvmnet up` and the up hooks, part of converging (they read the host and
// write markers, so they are no step of apply): read (files always; the live rulesets only when kvmnet's firewall
// rules are being written anyway, or for `kvmnet up`), judge (src/coexist/judge.ts), say what was not said yet,
// and keep one marker file per network and finding in state_dir so it is said once.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Config, Network } from "../config/types.js";
import { coexistFindings, judgedIds, markerPrefix, planWarnings, warningLines } from "../coexist/judge.js";
import type { Step } from "../core/steps.js";
import { writeFileSafe } from "../host/write.js";
import { observeCoexist } from "../coexist/read-others.js";
import { realExec, type Exec } from "../host/exec.js";

/** Warn (once) about what would break NET on this host. STEPS: what this run carried out (the rulesets are read
 *  only when they wrote firewall rules, or with WARNALWAYS). Never fails: a warning must not stop a VM. */
export function coexistWarnings(
  config: Config,
  net: Network,
  steps: Step[],
  opts: { exec?: Exec; warn?: (line: string) => void; warnAlways?: boolean },
): void {
  const warn = opts.warn;
  if (!warn) return;
  try {
    const rulesets = !!opts.warnAlways || steps.some((s) => s.kind === "nft" || s.kind === "iptables");
    const view = observeCoexist(opts.exec ?? realExec, rulesets);
    const prefix = markerPrefix(net.name);
    const markers = readdirSync(config.stateDir).filter((n) => n.startsWith(prefix));
    const plan = planWarnings(net.name, coexistFindings(config, net, view), markers, judgedIds(rulesets));
    for (const { name, finding } of plan.say) {
      for (const line of warningLines(net.name, finding)) warn(line);
      writeFileSafe(join(config.stateDir, name), `${finding.message}\n`);
    }
    for (const name of plan.remove) rmSync(join(config.stateDir, name), { force: true });
  } catch {
    /* no state_dir yet, or unwritable: say it again next time */
  }
}
