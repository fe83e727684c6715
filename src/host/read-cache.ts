// An executor that remembers the answers of one tool's read-only commands until told that what they read may have
// changed (`kvmnet watch` tells it at every line of `nft monitor`). That tool's other commands are run every time
// and forget every answer, since they may have changed what the reads read; other tools' commands just run.
import type { Exec, RunResult } from "./exec.js";

/** INNER, with the answers of TOOL's commands that IS_READ accepts kept until changed() is called. */
export class ReadCache {
  private generation = 0;
  private readonly answers = new Map<string, { generation: number; result: RunResult }>();
  readonly exec: Exec;

  constructor(inner: Exec, tool: string, isRead: (args: string[]) => boolean) {
    this.exec = {
      tryRun: (cmd, args, input) => {
        if (cmd !== tool) return inner.tryRun(cmd, args, input);
        if (input !== undefined || !isRead(args)) {
          const r = inner.tryRun(cmd, args, input);
          this.changed();
          return r;
        }
        const key = [cmd, ...args].join("\0");
        const kept = this.answers.get(key);
        if (kept && kept.generation === this.generation) return kept.result;
        // Taken before the command runs: a change told meanwhile makes this answer old at once.
        const generation = this.generation;
        const result = inner.tryRun(cmd, args);
        if (result.ok) this.answers.set(key, { generation, result });
        return result;
      },
    };
  }

  /** What the reads read may have changed: no answer kept so far is given again. */
  changed(): void {
    this.generation++;
    this.answers.clear();
  }
}
