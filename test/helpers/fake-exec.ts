// A fake executor for unit tests of pure logic: it records every command and answers from a table.
import { showCommand, type Exec, type RunResult } from "../../src/host/exec.js";

/** A fake executor that records every command and answers from a table keyed by "cmd args..." (unit tests). */
export function fakeExec(answers: Record<string, Partial<RunResult>> = {}) {
  const calls: string[] = [];
  const exec: Exec = {
    tryRun(cmd, args, input) {
      calls.push(showCommand(cmd, args, input));
      const a = answers[[cmd, ...args].join(" ")] ?? {};
      return {
        ok: a.ok ?? true,
        code: a.code ?? (a.ok === false ? 1 : 0),
        stdout: a.stdout ?? "",
        stderr: a.stderr ?? "",
      };
    },
  };
  return { exec, calls };
}
