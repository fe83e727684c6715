// Carrying out the uplink bridge plan as one unit: the forward batch, and on any failure the undo batch,
// then a fresh look at the NIC to say truthfully whether the host is as it was.
import type { Network } from "../config/types.js";
import { planUplinkBridge, uplinkDiff } from "../decide/uplink.js";
import { showStep } from "../decide/steps.js";
import { CommandError } from "../errors.js";
import { readLink } from "../observe/links.js";
import { observeUplink } from "../observe/uplink.js";
import { showCommand, type Exec } from "./exec.js";

/** For a bridge-mode network with an uplink whose bridge is missing: create the bridge over the uplink and
 *  move the uplink's addresses and routes onto it, all or nothing. Does nothing when the bridge exists. */
export function ensureUplinkBridge(exec: Exec, net: Network, log?: (line: string) => void): void {
  if (net.mode !== "bridge" || !net.uplink || net.vlan || readLink(net.bridge)) return;
  const before = observeUplink(exec, net.uplink);
  if (!before) throw new CommandError(`ip link show ${net.uplink}`, 1, `uplink ${net.uplink} vanished`);
  const plan = planUplinkBridge(net, before);
  log?.(showStep({ kind: "ip", lines: plan.lines }));
  const input = plan.lines.join("\n") + "\n";
  const r = exec.tryRun("ip", ["-batch", "-"], input);
  if (r.ok) return;
  // ip stops at the first failing line; when that is the first one (creating the bridge) nothing changed, and
  // undoing would delete a bridge of the same name that someone else just made.
  if (/Command failed -:1$/m.test(r.stderr)) throw new CommandError(showCommand("ip", ["-batch", "-"], input), r.code, `${r.stderr.trim()}
nothing was changed`);
  const undo = plan.rollback.join("\n") + "\n";
  log?.(`rolling back: ${showCommand("ip", ["-force", "-batch", "-"], undo)}`);
  exec.tryRun("ip", ["-force", "-batch", "-"], undo);
  const left = [...(readLink(net.bridge) ? [`bridge ${net.bridge} still exists`] : []), ...uplinkDiff(before, observeUplink(exec, net.uplink))];
  const outcome = left.length === 0
    ? `rolled back: ${net.uplink} has its addresses and routes again and ${net.bridge} is gone`
    : `ROLLBACK INCOMPLETE, fix by hand: ${left.join("; ")}`;
  throw new CommandError(showCommand("ip", ["-batch", "-"], input), r.code, `${r.stderr.trim()}\n${outcome}`);
}
