// The one entry every program goes through: which program by the name it was run as, errors to exit codes.
import { basename } from "node:path";
import { safePath } from "./env.js";
import { failureReport, UsageError } from "./errors.js";
import { hookUsage, runHook } from "./converge/hook.js";
import { splitProgramName } from "./core/ifname.js";
import { CLI_PROGRAMS, isHook, type HookName } from "./programs.js";
import { versionLine } from "./version.js";

/** Loads the admin CLI; only the `kvmnet` and multi-call entries pass it, so hook bundles stay small. */
export type CliLoader = () => Promise<{
  runCli(args: string[], env: NodeJS.ProcessEnv, suffixNet?: string): Promise<number>;
}>;

/** Run the program named by ARGV[1] (or FALLBACK when that name is unknown); sets process.exitCode. */
export async function runMain(
  fallback: HookName | "kvmnet" | "kvmnet-userd" | "kvmnet-qemu",
  argv: string[] = process.argv,
  loadCli?: CliLoader,
): Promise<void> {
  const named = splitProgramName(basename(argv[1] ?? fallback));
  const known = isHook(named.program) || named.program === "kvmnet" || Object.hasOwn(CLI_PROGRAMS, named.program);
  const program = known ? named.program : fallback;
  const verb = Object.hasOwn(CLI_PROGRAMS, program) ? CLI_PROGRAMS[program] : undefined;
  const args = verb ? [verb, ...argv.slice(2)] : argv.slice(2);
  process.env.PATH = safePath(process.env.PATH);
  // QEMU or a hardened host may hand us umask 027/077: kvmnet sets its own files' modes explicitly, and this
  // covers what it does not create itself (dnsmasq's lease and pid files, tools' lock files).
  process.umask(0o022);
  try {
    const own = argv.slice(2);
    if (own.length === 1 && (own[0] === "--version" || own[0] === "-V")) {
      process.stdout.write(versionLine(program) + "\n");
    } else if (program === "kvmnet" || verb) {
      if (!loadCli) throw new UsageError(`this program is ${fallback}; the admin CLI is the program kvmnet`);
      const { runCli } = await loadCli();
      process.exitCode = await runCli(args, process.env, named.net);
    } else if (!isHook(program)) {
      throw new UsageError(`unknown program ${program}`);
    } else if (args[0] === "--help" || args[0] === "-h") {
      process.stdout.write(hookUsage(program) + "\n");
    } else {
      const verbose = !!process.env.KVMNET_VERBOSE;
      await runHook({
        program,
        args,
        env: process.env,
        suffixNet: named.net,
        warn: (l: string) => process.stderr.write(`${program}: ${l}\n`),
        ...(verbose ? { log: (l: string) => process.stderr.write(`${program}: ${l}\n`) } : {}),
      });
    }
  } catch (e) {
    const { code, text } = failureReport(program, e);
    process.stderr.write(text);
    process.exitCode = code;
  }
}
