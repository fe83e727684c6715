// Error classes: every failure a program reports is one of these, so the exit code follows from the class.
import { errorText } from "./errno.js";

/** Base class: `exitCode` is what the program exits with; the message is printed after "PROGRAM: ". */
export abstract class KvmnetError extends Error {
  abstract readonly exitCode: 1 | 2;
}

/** Wrong usage (arguments, selection, a TAP that must not be touched): exit 2, nothing changed. */
export class UsageError extends KvmnetError {
  readonly exitCode = 2 as const;
}

/** One problem in the configuration file, located by file and line. */
export interface ConfigProblem {
  file: string;
  /** 0 when the problem is the file as a whole. */
  line: number;
  /** "" when no one key is at fault. */
  key: string;
  message: string;
}

/** Render a config problem as `FILE:LINE: KEY: what is wrong`. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}${p.line > 0 ? `:${p.line}` : ""}: ${p.key ? `${p.key}: ` : ""}${p.message}`;
}

/** The configuration is wrong: exit 2, nothing changed. Holds every problem found, not just the first. */
export class ConfigError extends KvmnetError {
  readonly exitCode = 2 as const;
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
  }
}

/** A system command failed: exit 1; the message names the command and its stderr. */
export class CommandError extends KvmnetError {
  readonly exitCode = 1 as const;
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const why = stderr.trim() || (code === null ? "killed by a signal" : `exit status ${code}`);
    super(`command failed: ${command}: ${why}`, options);
  }
}

/** How PROGRAM reports E, which ended it: its exit code (a KvmnetError's own, else 1) and the stderr text, each
 *  line prefixed with the program's name. An error from the file system unforeseen by the code gives its path
 *  and words, not "ENOENT: ...". */
export function failureReport(program: string, e: unknown): { code: number; text: string } {
  const message = e instanceof KvmnetError ? e.message : errorText(e);
  const text = message
    .split("\n")
    .map((l) => `${program}: ${l}`)
    .join("\n");
  return { code: e instanceof KvmnetError ? e.exitCode : 1, text: text + "\n" };
}
