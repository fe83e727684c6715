// `kvmnet up` and `kvmnet down`: a network without a VM, converged as the hooks converge it (src/converge/),
// under the same per-network lock.
import { realExec, type Exec } from "../host/exec.js";
import { converge, hostProblems, type ConvergeOptions } from "../converge/converge.js";
import type { Intent } from "../intent.js";
import { guestPorts } from "../converge/preflight.js";
import type { Config, Network } from "../config/types.js";
import { ConfigError, KvmnetError, UsageError } from "../errors.js";
import { resolveBridgeOr } from "../observe/default-route.js";
import { readLink } from "../observe/links.js";
import { readRoutes } from "../observe/routes.js";
import { parseCommand } from "./args.js";
import { configFrom, pickNetworks } from "./networks.js";
import { out, warnLine } from "./output.js";

const UP_USAGE = `usage: kvmnet up NET | --all | --autostart [--verbose]

Bring networks up without a VM: bridge, address, forwarding, firewall rules, dnsmasq, exactly as the
first VM's hook would. Idempotent: a network already up as configured is left alone.

  --all         every configured network
  --autostart   the networks with autostart = yes (run this at boot)
  -v, --verbose print each command as it is carried out (kvmnet plan NET shows them beforehand)`;

const DOWN_USAGE = `usage: kvmnet down NET | --all [--force] [--verbose]

Remove what kvmnet made for a network: its dnsmasq, its firewall rules, and its bridge if kvmnet created
it. A bridge kvmnet did not create (mode = bridge over br0) stays. The lease file stays, so guests get
the same addresses back. A network whose bridge still has VM ports is refused unless --force.

  --all         every configured network
  --force       go ahead even though VMs are attached (they lose their network)
  -v, --verbose print each command as it is carried out`;

const common = { all: { type: "boolean" }, verbose: { type: "boolean", short: "v" } } as const;

/** Run `kvmnet up ARGS`. */
export async function runUp(
  args: string[],
  env: NodeJS.ProcessEnv,
  suffixNet?: string,
  exec: Exec = realExec,
): Promise<number> {
  const parsed = parseCommand(
    { name: "up", usage: UP_USAGE, options: { ...common, autostart: { type: "boolean" } }, maxPositionals: 1 },
    args,
  );
  if (!parsed) return 0;
  const v = parsed.values;
  const config = configFrom(env);
  const picked = pickNetworks(
    config,
    {
      net: parsed.positionals[0] ?? (v.all || v.autostart ? undefined : suffixNet),
      all: v.all,
      autostart: v.autostart,
    },
    "up",
  );
  if (picked.length === 0)
    out(`kvmnet: no network in ${config.file} has ${v.autostart ? "autostart = yes" : "a section"}; nothing to do`);
  // Every refusal the host's interfaces and routes give comes before the first change (exit 2, nothing changed).
  const routes = readRoutes();
  const problems = picked.flatMap((n) => hostProblems(config, n, routes));
  if (problems.length) throw new ConfigError(problems);
  return each(picked, async (net) => {
    const done = await run(config, net, { action: "up" }, exec, v.verbose);
    out(
      done.steps.length
        ? `${done.net.name}: up (${count(done.steps.length)})`
        : `${net.name}: already up as configured`,
    );
  });
}

/** Run `kvmnet down ARGS`. */
export async function runDown(
  args: string[],
  env: NodeJS.ProcessEnv,
  suffixNet?: string,
  exec: Exec = realExec,
): Promise<number> {
  const parsed = parseCommand(
    { name: "down", usage: DOWN_USAGE, options: { ...common, force: { type: "boolean" } }, maxPositionals: 1 },
    args,
  );
  if (!parsed) return 0;
  const v = parsed.values;
  const config = configFrom(env);
  const picked = pickNetworks(
    config,
    { net: parsed.positionals[0] ?? (v.all ? undefined : suffixNet), all: v.all },
    "down",
  );
  if (!v.force) {
    // All refusals first; converging checks again under the lock, in case a VM came meanwhile.
    const busy = picked
      .map((n) => resolveBridgeOr(config, n))
      .map((n) => [n, guestPorts(n, readLink(n.bridge)?.ports ?? [])] as const)
      .filter(([, p]) => p.length);
    if (busy.length) {
      throw new UsageError(
        busy.map(([n, p]) => `down: network ${n.name} still has VM ports on ${n.bridge}: ${p.join(", ")}`).join("\n") +
          "\nstop those VMs first, or use --force to cut them off; nothing was changed",
      );
    }
  }
  return each(picked, async (net) => {
    const done = await run(config, net, { action: "down", force: !!v.force }, exec, v.verbose);
    out(
      done.steps.length ? `${net.name}: down (${count(done.steps.length)}); leases kept` : `${net.name}: already down`,
    );
  });
}

// Converge NET towards INTENT, printing each step when VERBOSE, warnings on stderr (snat_to each time: an admin
// running up wants to know).
function run(config: Config, net: Network, intent: Intent, exec: Exec, verbose?: boolean) {
  const opts: ConvergeOptions = {
    exec,
    warn: warnLine,
    warnAlways: intent.action === "up",
    ...(verbose ? { log: out } : {}),
  };
  return converge(config, net, intent, opts);
}

// Run FN for each network; one network failing does not stop the others (at boot, bring up what can be).
async function each(nets: Network[], fn: (n: Network) => Promise<void>): Promise<number> {
  let code = 0;
  for (const net of nets) {
    try {
      await fn(net);
    } catch (e) {
      if (!(e instanceof KvmnetError)) throw e;
      for (const l of e.message.split("\n")) warnLine(`${net.name}: ${l}`);
      code = Math.max(code, e.exitCode);
    }
  }
  return code;
}

function count(n: number): string {
  return `${n} step${n > 1 ? "s" : ""}`;
}
