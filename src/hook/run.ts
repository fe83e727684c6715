// What every QEMU hook does: read the config, choose the network, check, then observe → decide → apply
// under the network's lock.
import { realExec, type Exec } from "../apply/exec.js";
import { applySteps } from "../apply/apply.js";
import { withNetworkLock } from "../apply/lock.js";
import { configPath, loadConfig } from "../config/load.js";
import { decideDown, decideUp } from "../decide/network.js";
import { showStep } from "../decide/steps.js";
import { CommandError, UsageError } from "../errors.js";
import { observeNetwork } from "../observe/network.js";
import { resolveBridge, resolveBridgeOr } from "../observe/default-route.js";
import { observeMode } from "../observe/mode.js";
import { isLocalAddress } from "../observe/routes.js";
import { ensureUplinkBridge } from "../apply/uplink.js";
import { HOOKS, type HookName } from "../programs.js";
import { selectNetwork } from "../select.js";
import { undoColdStart } from "./cold-undo.js";
import { checkNetwork, checkTap } from "./preflight.js";

/** How a hook was invoked. */
export interface HookCall {
  program: HookName;
  args: string[];
  env: NodeJS.ProcessEnv;
  suffixNet?: string;
  exec?: Exec;
  log?: (line: string) => void;
  /** Where warnings go (QEMU shows a hook's stderr); not shown when absent. */
  warn?: (line: string) => void;
}

/** Usage text of a hook program. */
export function hookUsage(program: HookName): string {
  const what =
    HOOKS[program].action === "up"
      ? "brings TAP's network up and attaches TAP to it"
      : "detaches TAP (and tears an idle network down with teardown = when-idle)";
  return `usage: ${program} TAP\n\nRun by QEMU: -netdev tap,ifname=TAP,script=/etc/qemu-natup,downscript=/etc/qemu-natdown\n${program} ${what}.\nConfig: /etc/kvmnet.conf (or $KVMNET_CONFIG). Network: a link named ${program}@NET, a taps glob matching TAP,\nthe only (or the default = yes) network ${program} serves, or $KVMNET_NETWORK (plain QEMU; libvirt passes no environment).`;
}

/** Run a hook to completion; throws a KvmnetError on failure. */
export async function runHook(call: HookCall): Promise<void> {
  const { program, args, env } = call;
  if (args.length !== 1 || args[0]!.startsWith("-"))
    throw new UsageError(`expects exactly one argument, the TAP (see ${program} --help)`);
  const up = HOOKS[program].action === "up";
  // libvirt runs the downscript after closing the tap, sometimes with the literal argument "(null)": going
  // down, that is a tap already gone, as is any missing one.
  const tap = !up && args[0] === "(null)" ? "" : args[0]!;
  const exec = call.exec ?? realExec;
  const config = loadConfig(configPath(env));
  const picked = selectNetwork(config, { program, tap, envNet: env.KVMNET_NETWORK, suffixNet: call.suffixNet });
  // Going down, a default route that moved away from the bridge must not keep a VM's tap attached.
  const net = up ? resolveBridge(config, picked) : resolveBridgeOr(config, picked);
  if (tap) checkTap(config, tap, up, exec, net);
  if (up) checkNetwork(config, net);
  await withNetworkLock(config, net.name, () => {
    if (up) ensureUplinkBridge(exec, config, net, call.log);
    const obs = { ...observeNetwork(exec, config, net, tap || undefined), mode: observeMode(net) };
    const steps = up ? decideUp(config, net, obs) : decideDown(config, net, obs, tap);
    for (const s of steps) call.log?.(showStep(s));
    // Said when the rules are written, not on every VM start.
    if (net.snatTo && steps.some((s) => s.kind === "nft" || s.kind === "iptables") && !isLocalAddress(net.snatTo)) {
      call.warn?.(
        `warning: snat_to ${net.snatTo} of network ${net.name} is not an address of this host: replies to the guests' traffic will not come back to it`,
      );
    }
    try {
      applySteps(exec, steps);
    } catch (e) {
      // Cold: the bridge was not there, so all of the network is this run's doing (bridge mode: the admin's).
      const cold = up && obs.bridge === null && net.mode !== "bridge";
      throw cold && e instanceof CommandError ? undoColdStart(exec, config, net, steps, e, call.log) : e;
    }
  });
}
