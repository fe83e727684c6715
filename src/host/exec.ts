// The executor: the one place that runs system commands (host plumbing, beside the lock). Tests of pure logic use
// test/helpers/fake-exec.ts.
import { spawnSync } from "node:child_process";
import { errnoWords } from "../errno.js";
import { CommandError } from "../errors.js";
import { forgetTool, whichTool } from "./which.js";

/** What a finished command left behind. */
export interface RunResult {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs commands to completion. */
export interface Exec {
  /** Run, return the result whether or not it failed (for observations where "absent" is an answer). */
  tryRun(cmd: string, args: string[], input?: string): RunResult;
}

/** Run and return stdout; a failure throws a CommandError naming the command and its stderr. */
export function run(exec: Exec, cmd: string, args: string[], input?: string): string {
  const r = exec.tryRun(cmd, args, input);
  if (!r.ok) throw new CommandError(showCommand(cmd, args, input), r.code, r.stderr);
  return r.stdout;
}

/** The real executor: node:child_process, no shell. A tool is spawned by its absolute path, found once per
 *  process (src/host/which.ts): no execve tried and failed in each PATH directory before it, at every spawn. */
export const realExec: Exec = {
  tryRun(cmd, args, input) {
    const file = whichTool(cmd);
    const r = file && spawnSync(file, args, { argv0: cmd, input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
    if (!r || r.error) {
      const missing = !r || (r.error as NodeJS.ErrnoException).code === "ENOENT";
      if (r && missing) forgetTool(cmd);
      return {
        ok: false,
        code: null,
        stdout: "",
        stderr: missing ? `${cmd}: not found (is it installed?)` : `${cmd}: ${errnoWords(r.error)}`,
      };
    }
    return { ok: r.status === 0, code: r.status, stdout: r.stdout, stderr: r.stderr };
  },
};

/** A command as a person would type it, with its stdin script when there is one. */
export function showCommand(cmd: string, args: string[], input?: string): string {
  const line = [cmd, ...args].join(" ");
  return input ? `${line} <<'EOF'\n${input.trimEnd()}\nEOF` : line;
}
