// A bring-up that fails on a cold network (its bridge did not exist) must not leave half a network behind:
// plain QEMU runs no downscript after a failed up script, so nothing else would ever remove it.
import { applySteps } from "../apply/apply.js";
import type { Exec } from "../host/exec.js";
import type { Config, Network } from "../config/types.js";
import { decideNetworkDown } from "../decide/network-steps.js";
import { showStep, type Step } from "../core/steps.js";
import { CommandError } from "../errors.js";
import { readRoutes } from "../observe/routes.js";
import { observe } from "../observe/snapshot.js";
import { errorText } from "../errno.js";

const FORWARD = "/proc/sys/net/ipv4/ip_forward";

/** Remove what the failed plan STEPS made of NET (a fresh look decides what is there), and return the original
 *  error FAILURE with a line saying what was undone. Forwarding goes back off only if STEPS turned it on. */
export function undoColdStart(
  exec: Exec,
  config: Config,
  net: Network,
  steps: Step[],
  failure: CommandError,
  log?: (line: string) => void,
): CommandError {
  const snap = observe(exec, config, net, { action: "down", force: true }, readRoutes());
  const undo = decideNetworkDown(config, net, snap);
  if (steps.some((s) => s.kind === "sysctl" && s.path === FORWARD && s.value === "1"))
    undo.push({ kind: "sysctl", path: FORWARD, value: "0" });
  let outcome = `undone: kvmnet removed what this run had made of network ${net.name} (${undo.length} step${undo.length === 1 ? "" : "s"})`;
  try {
    for (const s of undo) log?.(`undo: ${showStep(s)}`);
    applySteps(exec, undo);
  } catch (e) {
    outcome = `UNDO INCOMPLETE: ${errorText(e)}; run kvmnet down ${net.name}`;
  }
  return new CommandError(failure.command, failure.code, `${failure.stderr.trim()}\n${outcome}`, { cause: failure });
}
