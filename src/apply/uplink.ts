// Carrying out the uplink bridge plan as one unit: the forward batch, and on any failure the undo batch,
// then a fresh look at the NIC to say truthfully whether the host is as it was. A journal in state_dir
// (written before the batch, removed after it) lets the next run undo a move cut off half-way by SIGKILL.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Config, Network } from "../config/types.js";
import { planUplinkBridge, uplinkDiff } from "../decide/uplink.js";
import { showStep } from "../decide/steps.js";
import { CommandError } from "../errors.js";
import { readLink } from "../observe/links.js";
import { observeUplink } from "../observe/uplink.js";
import { showCommand, type Exec } from "./exec.js";

/** Path of NET's uplink-move journal. */
export function uplinkJournal(config: Config, net: Network): string {
  return `${config.stateDir}/${net.name}.uplink-move`;
}

/** For a bridge-mode network with an uplink whose bridge is missing: create the bridge over the uplink and
 *  move the uplink's addresses and routes onto it, all or nothing. Does nothing when the bridge exists
 *  (unless a journal says an earlier move never finished: that one is undone first, then done again). */
export function ensureUplinkBridge(exec: Exec, config: Config, net: Network, log?: (line: string) => void): void {
  if (net.mode !== "bridge" || !net.uplink || net.vlan) return;
  const journal = uplinkJournal(config, net);
  finishInterrupted(exec, journal, log);
  if (readLink(net.bridge)) return;
  const before = observeUplink(exec, net.uplink);
  if (!before) throw new CommandError(`ip link show ${net.uplink}`, 1, `uplink ${net.uplink} vanished`);
  const plan = planUplinkBridge(net, before);
  log?.(showStep({ kind: "ip", lines: plan.lines }));
  const input = plan.lines.join("\n") + "\n";
  const undo = plan.rollback.join("\n") + "\n";
  mkdirSync(config.stateDir, { recursive: true, mode: 0o755 });
  // O_EXCL: a journal left by a killed run was undone and removed above; anything else here is not ours.
  writeFileSync(journal, undo, { flag: "wx", mode: 0o600 });
  const r = exec.tryRun("ip", ["-batch", "-"], input);
  if (r.ok) {
    rmSync(journal, { force: true });
    return;
  }
  // ip stops at the first failing line; when that is the first one (creating the bridge) nothing changed, and
  // undoing would delete a bridge of the same name that someone else just made.
  if (/Command failed -:1$/m.test(r.stderr)) {
    rmSync(journal, { force: true });
    throw new CommandError(
      showCommand("ip", ["-batch", "-"], input),
      r.code,
      `${r.stderr.trim()}\nnothing was changed`,
    );
  }
  log?.(`rolling back: ${showCommand("ip", ["-force", "-batch", "-"], undo)}`);
  exec.tryRun("ip", ["-force", "-batch", "-"], undo);
  rmSync(journal, { force: true });
  const left = [
    ...(readLink(net.bridge) ? [`bridge ${net.bridge} still exists`] : []),
    ...uplinkDiff(before, observeUplink(exec, net.uplink)),
  ];
  const outcome =
    left.length === 0
      ? `rolled back: ${net.uplink} has its addresses and routes again and ${net.bridge} is gone`
      : `ROLLBACK INCOMPLETE, fix by hand: ${left.join("; ")}`;
  throw new CommandError(showCommand("ip", ["-batch", "-"], input), r.code, `${r.stderr.trim()}\n${outcome}`);
}

// A journal means a run was killed between writing it and finishing the batch: the host may be half moved
// (the NIC on a bridge without its addresses, or the default route gone). Its undo batch puts the NIC back
// as it was; each line is tried on its own (-force), since an unknown part of the move had run.
function finishInterrupted(exec: Exec, journal: string, log?: (line: string) => void): void {
  let undo: string;
  try {
    undo = readFileSync(journal, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  log?.(`an earlier move of the uplink was cut off; undoing it: ${showCommand("ip", ["-force", "-batch", "-"], undo)}`);
  exec.tryRun("ip", ["-force", "-batch", "-"], undo);
  rmSync(journal, { force: true });
}
