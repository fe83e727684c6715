// An executor that remembers the answers of read-only commands until told that what they read may have changed
// (`kvmnet watch` tells it at every line of `nft monitor`). Commands that may change what they read are run
// every time and forget every answer; the others just run.
import type { Exec, RunResult } from "./exec.js";

/** INNER, with the answers of the commands KIND calls "read" kept until changed() is called (or a command KIND
 *  calls "change" runs). */
export class ReadCache {
  private readonly answers = new Map<string, RunResult>();
  readonly exec: Exec;

  constructor(inner: Exec, kind: (cmd: string, args: string[]) => "read" | "change" | "other") {
    this.exec = {
      tryRun: (cmd, args, input) => {
        const k = kind(cmd, args);
        if (k === "other") return inner.tryRun(cmd, args, input);
        if (k === "change" || input !== undefined) {
          const r = inner.tryRun(cmd, args, input);
          this.changed();
          return r;
        }
        const key = [cmd, ...args].join("\0");
        const kept = this.answers.get(key);
        if (kept) return kept;
        // The executor is synchronous: no change can be told while the command runs.
        const result = inner.tryRun(cmd, args);
        if (result.ok) this.answers.set(key, result);
        return result;
      },
    };
  }

  /** What the reads read may have changed: no answer kept so far is given again. */
  changed(): void {
    this.answers.clear();
  }
}
