// `kvmnet up` and `kvmnet down`: a network without a VM, by the same observe → decide → apply as the hooks,
// under the same per-network lock.
import { applySteps } from "../apply/apply.js";
import { realExec, type Exec } from "../apply/exec.js";
import { withNetworkLock } from "../apply/lock.js";
import { ensureUplinkBridge } from "../apply/uplink.js";
import type { Config, Network } from "../config/types.js";
import { hostPorts } from "../decide/modes.js";
import { decideNetworkDown, decideNetworkUp } from "../decide/network.js";
import { showStep, type Step } from "../decide/steps.js";
import { ConfigError, KvmnetError, UsageError } from "../errors.js";
import { networkProblems } from "../hook/preflight.js";
import { resolveBridgeOr } from "../observe/default-route.js";
import type { ObservedAll } from "../observe/mode.js";
import { isLocalAddress, readRoutes } from "../observe/routes.js";
import { parseCommand } from "./args.js";
import { configFrom, pickNetworks } from "./networks.js";
import { observeAll } from "./observe.js";
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
  // Every refusal comes before the first change (exit 2, nothing changed).
  const routes = readRoutes();
  const problems = picked.flatMap((n) => networkProblems(config, n, routes));
  if (problems.length) throw new ConfigError(problems);
  // `bridge = @default-route` names the bridge the default route uses now (networkProblems checked there is one).
  const nets = picked.map((n) => resolveBridgeOr(config, n));
  for (const n of nets) {
    if (n.snatTo && !isLocalAddress(n.snatTo))
      warnLine(
        `warning: snat_to ${n.snatTo} of network ${n.name} is not an address of this host: replies to the guests' traffic will not come back to it`,
      );
  }
  return each(nets, async (net) => {
    const steps = await locked(config, net, (obs) => decideNetworkUp(config, net, obs), exec, v.verbose, true);
    out(steps ? `${net.name}: up (${count(steps)})` : `${net.name}: already up as configured`);
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
  const nets = pickNetworks(
    config,
    { net: parsed.positionals[0] ?? (v.all ? undefined : suffixNet), all: v.all },
    "down",
  ).map((n) => resolveBridgeOr(config, n));
  if (!v.force) {
    const busy = nets
      .map((n) => [n, guestPorts(n, observeAll(exec, config, n).bridge?.ports ?? [])] as const)
      .filter(([, p]) => p.length);
    if (busy.length) {
      throw new UsageError(
        busy.map(([n, p]) => `down: network ${n.name} still has VM ports on ${n.bridge}: ${p.join(", ")}`).join("\n") +
          "\nstop those VMs first, or use --force to cut them off; nothing was changed",
      );
    }
  }
  return each(nets, async (net) => {
    const steps = await locked(config, net, (obs) => decideNetworkDown(config, net, obs), exec, v.verbose);
    out(steps ? `${net.name}: down (${count(steps)}); leases kept` : `${net.name}: already down`);
  });
}

/** Ports of NET's bridge that are not the host's own uplink or trunk: the VMs' taps. */
export function guestPorts(net: Network, ports: string[]): string[] {
  const host = hostPorts(net);
  return ports.filter((p) => !host.includes(p));
}

// Observe, decide and apply one network under the lock the hooks take, so a VM starting meanwhile waits.
// Going UP, a bridge network's missing bridge is first built over its uplink, as the hooks do.
// Returns how many steps were carried out.
async function locked(
  config: Config,
  net: Network,
  decide: (o: ObservedAll) => Step[],
  exec: Exec,
  verbose?: boolean,
  up = false,
) {
  return withNetworkLock(config, net.name, () => {
    let done = 0;
    if (up)
      ensureUplinkBridge(exec, config, net, (line) => {
        done++;
        if (verbose) out(line);
      });
    const steps = decide(observeAll(exec, config, net));
    for (const s of steps) {
      if (verbose) out(showStep(s));
      applySteps(exec, [s]);
    }
    return done + steps.length;
  });
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
