// Option parsing for every command: node's util.parseArgs, with its errors turned into usage errors (exit 2).
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.js";

/** What a command declares: its options and how many positionals it takes. */
export interface CommandSpec<O extends NonNullable<ParseArgsConfig["options"]>> {
  name: string;
  usage: string;
  options: O;
  maxPositionals: number;
}

/** Parse ARGS for SPEC; null when --help was asked (the usage is printed then). */
export function parseCommand<O extends NonNullable<ParseArgsConfig["options"]>>(spec: CommandSpec<O>, args: string[]) {
  // --help wins over everything else on the line, as admins expect of `CMD --bad --help`.
  const end = args.indexOf("--");
  if ((end < 0 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h")) {
    process.stdout.write(spec.usage.trimEnd() + "\n");
    return null;
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs says e.g. "Unknown option '--x'. To specify a positional argument starting with a '-'...";
    // the first sentence is the useful part.
    const why = (e as Error).message.split(/\.\s/)[0]!.replace(/\.$/, "");
    throw new UsageError(`${spec.name}: ${why} (see kvmnet ${spec.name} --help)`);
  }
  if (parsed.positionals.length > spec.maxPositionals) {
    throw new UsageError(
      `${spec.name}: unexpected argument "${parsed.positionals[spec.maxPositionals]}" (see kvmnet ${spec.name} --help)`,
    );
  }
  return parsed;
}
