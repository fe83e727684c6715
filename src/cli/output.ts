// Writing for people: colour only on a terminal and never with NO_COLOR (https://no-color.org).

/** Styles the plain output uses. */
export interface Paint {
  ok(s: string): string;
  warn(s: string): string;
  bad(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

/** True when output to a stream that IS_TTY may carry colour, given ENV. */
export function wantColour(isTty: boolean, env: NodeJS.ProcessEnv): boolean {
  return isTty && env.NO_COLOR === undefined && env.TERM !== "dumb";
}

const sgr = (code: number) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const plain = (s: string) => s;

/** The styles to use: ANSI colour when COLOUR, else the text unchanged. */
export function paint(colour: boolean): Paint {
  if (!colour) return { ok: plain, warn: plain, bad: plain, bold: plain, dim: plain };
  return { ok: sgr(32), warn: sgr(33), bad: sgr(31), bold: sgr(1), dim: sgr(2) };
}

/** The styles for stdout of this process. */
export function stdoutPaint(env: NodeJS.ProcessEnv): Paint {
  return paint(wantColour(!!process.stdout.isTTY, env));
}

/** Print TEXT on stdout, ending in one newline. */
export function out(text: string): void {
  process.stdout.write(text.replace(/\n*$/, "\n"));
}

/** Print VALUE as indented JSON on stdout. */
export function outJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** Print one line on stderr prefixed with the program name. */
export function warnLine(line: string): void {
  process.stderr.write(`kvmnet: ${line}\n`);
}
