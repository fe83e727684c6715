// `kvmnet check`: validate the config like `nginx -t`: every problem listed, exit 0 or 2.
import { configPath, loadConfig } from "../config/load.js";
import { checkFirewallCaps } from "../firewall/caps.js";
import type { Config } from "../config/types.js";
import { ConfigError, formatProblem, type ConfigProblem } from "../errors.js";
import { hostProblems } from "../converge/converge.js";
import { readRoutes } from "../observe/routes.js";
import { parseCommand } from "./args.js";
import { out, outJson, stdoutPaint } from "./output.js";

const USAGE = `usage: kvmnet check [FILE] [--json]

Validate FILE (default: $KVMNET_CONFIG, else /etc/kvmnet.conf): its syntax, every key, and what the
host must allow (a subnet the host already routes elsewhere, a bridge name taken by another kind of
interface, a missing uplink). Lists every problem found, not just the first.
Exit 0 when the file is good, 2 when it is not.

  --json   print {"file","ok","networks":[names],"problems":[{"file","line","key","message"}]}`;

/** Every problem of the config FILE: syntax and keys first; the host checks only once the file parses. */
export function checkConfig(file: string): { config: Config | null; problems: ConfigProblem[] } {
  let config: Config;
  try {
    config = checkFirewallCaps(loadConfig(file));
  } catch (e) {
    if (e instanceof ConfigError) return { config: null, problems: e.problems };
    throw e;
  }
  const routes = readRoutes();
  return { config, problems: config.networks.flatMap((n) => hostProblems(config, n, routes)) };
}

/** Run `kvmnet check ARGS`. */
export async function runCheck(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommand(
    { name: "check", usage: USAGE, options: { json: { type: "boolean" } }, maxPositionals: 1 },
    args,
  );
  if (!parsed) return 0;
  const file = parsed.positionals[0] ?? configPath(env);
  const { config, problems } = checkConfig(file);
  if (parsed.values.json) {
    outJson({ file, ok: problems.length === 0, networks: config?.networks.map((n) => n.name) ?? [], problems });
    return problems.length ? 2 : 0;
  }
  if (problems.length) {
    for (const p of problems) process.stderr.write(`kvmnet: ${formatProblem(p)}\n`);
    process.stderr.write(
      `kvmnet: configuration file ${file} test failed: ${problems.length} problem${problems.length > 1 ? "s" : ""}\n`,
    );
    return 2;
  }
  const p = stdoutPaint(env);
  const nets = config!.networks.map((n) => `${n.name} (${n.mode}, ${n.bridge})`).join(", ") || "no networks";
  out(
    `kvmnet: configuration file ${file} syntax is ok: ${nets}\nkvmnet: configuration file ${file} test is ${p.ok("successful")}`,
  );
  return 0;
}
