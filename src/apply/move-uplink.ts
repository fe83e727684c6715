// Carrying out the move of an uplink onto a bridge built over it as one unit: the journal, the forward batch, and
// on any failure the undo batch. Whether the host is then as it was is for the caller to look at (apply observes
// nothing): an UplinkMoveError tells it that an undo ran.
import { rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Step } from "../core/steps.js";
import { CommandError } from "../errors.js";
import { ensureDir } from "../host/dirs.js";
import { showCommand, type Exec } from "../host/exec.js";

/** The move failed half-way and its undo batch was run; BEFORE the failure's own stderr. */
export class UplinkMoveError extends CommandError {}

/** Carry out an uplink-move step. Throws a CommandError when nothing was changed (the bridge could not even be
 *  made), an UplinkMoveError when the move failed later and was undone. */
export function applyUplinkMove(exec: Exec, s: Extract<Step, { kind: "uplink-move" }>): void {
  const input = s.lines.join("\n") + "\n";
  const undo = s.rollback.join("\n") + "\n";
  ensureDir(dirname(s.journal));
  // O_EXCL: a journal left by a killed run was undone and removed before this step was decided.
  writeFileSync(s.journal, undo, { flag: "wx", mode: 0o600 });
  const r = exec.tryRun("ip", ["-batch", "-"], input);
  if (r.ok) {
    rmSync(s.journal, { force: true });
    return;
  }
  // ip stops at the first failing line; when that is the first one (creating the bridge) nothing changed, and
  // undoing would delete a bridge of the same name that someone else just made.
  if (/Command failed -:1$/m.test(r.stderr)) {
    rmSync(s.journal, { force: true });
    throw new CommandError(
      showCommand("ip", ["-batch", "-"], input),
      r.code,
      `${r.stderr.trim()}\nnothing was changed`,
    );
  }
  exec.tryRun("ip", ["-force", "-batch", "-"], undo);
  rmSync(s.journal, { force: true });
  throw new UplinkMoveError(
    showCommand("ip", ["-batch", "-"], input),
    r.code,
    `${r.stderr.trim()}\nrolling back: ${showCommand("ip", ["-force", "-batch", "-"], undo)}`,
  );
}
