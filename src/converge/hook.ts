// What every QEMU hook does: read the config, choose the network, and converge it (src/converge/): attach the
// tap (up hooks) or detach it (down hooks).
import type { Exec } from "../host/exec.js";
import { configPath, loadConfig } from "../config/load.js";
import { checkFirewallCaps } from "../firewall/caps.js";
import { converge, type ConvergeOptions } from "../converge/converge.js";
import { UsageError } from "../errors.js";
import { HOOKS, type HookName } from "../programs.js";
import { selectNetwork } from "../select.js";

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
  /** The QEMU that ran the hook, when it is not this process' parent (kvmnet watch serving a hook). */
  parent?: number;
  /** Carry out only steps this accepts (see ConvergeOptions.accept). */
  accept?: ConvergeOptions["accept"];
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
  const config = checkFirewallCaps(loadConfig(configPath(env)));
  const picked = selectNetwork(config, { program, tap, envNet: env.KVMNET_NETWORK, suffixNet: call.suffixNet });
  const parent = call.parent !== undefined ? { parent: call.parent } : {};
  const intent = up ? ({ action: "attach", tap, ...parent } as const) : ({ action: "detach", tap } as const);
  await converge(config, picked, intent, {
    ...(call.exec ? { exec: call.exec } : {}),
    ...(call.log ? { log: call.log } : {}),
    ...(call.warn ? { warn: call.warn } : {}),
    ...(call.accept ? { accept: call.accept } : {}),
  });
}
