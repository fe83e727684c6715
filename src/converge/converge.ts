// The one pipeline every program runs: resolve the network, take its lock, observe the host once into a snapshot,
// check (pure), decide (pure), apply. The hooks, `kvmnet up/down`, `plan` and `status` are thin callers of it.
import { applySteps } from "../apply/apply.js";
import { coexistWarnings } from "./coexist-warnings.js";
import { startDnsmasq } from "./dnsmasq-started.js";
import { realExec, type Exec } from "../host/exec.js";
import { withNetworkLock } from "../host/lock.js";
import { UplinkMoveError } from "../apply/move-uplink.js";
import type { Config, Network } from "../config/types.js";
import { uplinkDiff } from "../decide/uplink-plan.js";
import { showStep, type Step } from "../core/steps.js";
import { CommandError, ConfigError, type ConfigProblem } from "../errors.js";
import { traits } from "../modes.js";
import { defaultRouteProblem, findDefaultRoute, resolveBridge } from "../observe/default-route.js";
import { readLink } from "../observe/links.js";
import { isLocalAddress, readRoutes, type Route } from "../observe/routes.js";
import { observeUplink } from "../observe/uplink-state.js";
import { firewallBackend } from "../firewall/choose-backend.js";
import { undoColdStart } from "./cold-undo.js";
import { decide, type Decision } from "./decision.js";
import { bringsUp, tapOf, type Intent } from "../intent.js";
import { networkProblems, preflight, preflightHost, tapNameRefusal } from "./preflight.js";
import { observe, observeHost, type Snapshot } from "../observe/snapshot.js";

/** How a caller wants to hear about the run. */
export interface ConvergeOptions {
  exec?: Exec;
  /** Each step, as it is about to be carried out. */
  log?: (line: string) => void;
  /** Warnings (a hook's go to QEMU's stderr). */
  warn?: (line: string) => void;
  /** Warn about snat_to on every run, not only when the rules are written (`kvmnet up`: an admin wants to know). */
  warnAlways?: boolean;
  /** Go on only when this holds of the host as seen under the lock (kvmnet watch: the network is still up, not
   *  taken down meanwhile); otherwise change nothing. */
  onlyIf?: (snapshot: Snapshot) => boolean;
  /** Carry out the decision only when this holds of its steps; otherwise throw Declined, having changed nothing
   *  (kvmnet watch serving a hook leaves starting dnsmasq to the hook's own process). */
  accept?: (steps: Step[]) => string | null;
}

/** A run that changed nothing because ConvergeOptions.accept declined its steps. */
export class Declined extends Error {}

/** What was looked at, decided and done. */
export interface Converged {
  net: Network;
  snapshot: Snapshot;
  /** The steps carried out, in order (0 when the network was as wanted). */
  steps: Step[];
}

/** NET as the intent sees it: `@default-route` resolved from the routing table now (an error when bringing up and
 *  there is no such bridge; taking down, the network as it is). */
export function resolve(config: Config, net: Network, intent: Intent, routes = readRoutes()): Network {
  return resolveBridge(config, net, findDefaultRoute(routes), !bringsUp(intent));
}

/** Look at the host for PICKED and decide, changing nothing (for `plan` and `status`): the network as resolved, the
 *  snapshot, what would stop the intent (REFUSAL, with PROBLEMS when they are the config's against this host),
 *  and the decision it would carry out now. */
export function look(config: Config, picked: Network, intent: Intent, exec: Exec = realExec) {
  const routes = readRoutes();
  const dr = findDefaultRoute(routes);
  const net = resolveBridge(config, picked, dr, true);
  const snapshot = observe(exec, config, net, intent, routes);
  const drProblem = defaultRouteProblem(config, picked, dr);
  const refusal = drProblem ? new ConfigError([drProblem]) : preflight(config, net, snapshot, intent);
  const problems = refusal instanceof ConfigError ? refusal.problems : [];
  return { net, snapshot, refusal, problems, decision: decide(config, net, snapshot, intent) };
}

/** What would stop NET from coming up on this host now, for `kvmnet check` and `doctor` (ROUTES read once for all
 *  networks). Reads /sys and /proc only. */
export function hostProblems(config: Config, net: Network, routes: Route[]): ConfigProblem[] {
  const dr = findDefaultRoute(routes);
  const resolved = resolveBridge(config, net, dr, true);
  return networkProblems(config, resolved, observeHost(realExec, resolved, { action: "up" }, routes), dr);
}

/** Take PICKED (a configured network) towards INTENT; throws a KvmnetError when refused or when a step fails. */
export async function converge(
  config: Config,
  picked: Network,
  intent: Intent,
  opts: ConvergeOptions = {},
): Promise<Converged> {
  const exec = opts.exec ?? realExec;
  const tap = tapOf(intent);
  const badTap = tap === undefined ? null : tapNameRefusal(tap);
  if (badTap) throw badTap;
  const routes = readRoutes();
  const net = resolve(config, picked, intent, routes);
  // Refusals the interfaces and routes give come before the lock: refusing changes nothing, not even the lock
  // file. Under the lock the host is looked at again (another run may have changed it meanwhile) and checked whole.
  const first = observeHost(exec, net, intent, routes);
  const early = preflightHost(config, net, intent, first);
  if (early) throw early;
  const hostWide = firewallBackend(config.firewall).caps.sharedChains;
  return withNetworkLock(config.stateDir, net.name, hostWide, () => {
    const done: Step[] = [];
    // A first round may only repair what a killed run left (an uplink move half done); then the host is looked
    // at again. Bounded: a repair that does not take would otherwise loop.
    for (let round = 0; ; round++) {
      const snapshot = observe(exec, config, net, intent, round ? readRoutes() : routes, first.tapFacts);
      if (opts.onlyIf && !opts.onlyIf(snapshot)) return { net, snapshot, steps: done };
      const refusal = preflight(config, net, snapshot, intent);
      if (refusal) throw refusal;
      const decision = decide(config, net, snapshot, intent);
      // Never exit 0 while the host is not where the plan puts it: a repair that did not take is a failure.
      if (decision.again && round >= 2) throw repairDidNotTake(net, decision.steps);
      const declined = done.length === 0 && opts.accept ? opts.accept(decision.steps) : null;
      if (declined) throw new Declined(declined);
      warn(net, decision, opts);
      carryOut(exec, config, net, snapshot, intent, decision.steps, opts, done);
      if (!decision.again) {
        if (bringsUp(intent)) coexistWarnings(config, net, done, { ...opts, exec });
        return { net, snapshot, steps: done };
      }
    }
  });
}

function repairDidNotTake(net: Network, steps: Step[]): CommandError {
  const what = steps.map(showStep).join("\n");
  return new CommandError(
    what.split("\n")[0]!,
    null,
    `network ${net.name}: after two repairs of a cut-off move of the uplink the host is still not as planned; ` +
      `it would take:\n${what}\nfix by hand, then run kvmnet up ${net.name}`,
  );
}

function warn(net: Network, d: Decision, opts: ConvergeOptions): void {
  // Said when the rules are written, not on every VM start.
  const writesRules = d.steps.some((s) => s.kind === "nft" || s.kind === "iptables");
  if (net.snatTo && (writesRules || opts.warnAlways) && !isLocalAddress(net.snatTo)) {
    opts.warn?.(
      `warning: snat_to ${net.snatTo} of network ${net.name} is not an address of this host: replies to the guests' traffic will not come back to it`,
    );
  }
  for (const p of net.publish ?? []) {
    if (p.hostAddr && (writesRules || opts.warnAlways) && !isLocalAddress(p.hostAddr))
      opts.warn?.(
        `warning: publish ${p.proto}:${p.hostAddr}:${p.port} of network ${net.name}: ${p.hostAddr} is not an address of this host, so nothing reaches that port until it is`,
      );
  }
}

// Apply STEPS one by one (logging each). A failure on a cold network undoes what this run made of it; a failed
// uplink move (undone by apply) is followed by a fresh look to say truthfully whether the host is as it was.
function carryOut(
  exec: Exec,
  config: Config,
  net: Network,
  snap: Snapshot,
  intent: Intent,
  steps: Step[],
  opts: ConvergeOptions,
  done: Step[],
): void {
  for (const s of steps) {
    opts.log?.(showStep(s));
    try {
      if (s.kind === "dnsmasq-start") startDnsmasq(exec, s);
      else applySteps(exec, [s], opts.warn);
    } catch (e) {
      if (e instanceof UplinkMoveError && s.kind === "uplink-move") throw afterMove(exec, s.nic, s.bridge, snap, e);
      const cold = bringsUp(intent) && snap.bridge === null && traits(net).ownBridge;
      if (cold && e instanceof CommandError) throw undoColdStart(exec, config, net, steps, e, opts.log);
      throw e;
    }
    done.push(s);
    if (s.kind === "uplink-move" && s.why) lostRouteWarning(s.nic, s.bridge, opts);
  }
}

// A move cut off by an older kvmnet (it took a route off the NIC before putting it on the bridge) and left without a
// journal has lost that route: nothing on the host remembers it, so the admin is told.
function lostRouteWarning(nic: string, bridge: string, opts: ConvergeOptions): void {
  if (readRoutes().some((r) => r.dest.prefix === 0)) return;
  opts.warn?.(
    `warning: after finishing the cut-off move of ${nic} onto ${bridge} the host has no IPv4 default route; ` +
      `if it had one, the cut-off run lost it: ip route add default via GATEWAY dev ${bridge}`,
  );
}

function afterMove(exec: Exec, nic: string, bridge: string, snap: Snapshot, e: UplinkMoveError): CommandError {
  const before = snap.uplinkState;
  if (!before) return e;
  const left = [
    ...(readLink(bridge) ? [`bridge ${bridge} still exists`] : []),
    ...uplinkDiff(before, observeUplink(exec, nic)),
  ];
  const outcome =
    left.length === 0
      ? `rolled back: ${nic} has its addresses and routes again and ${bridge} is gone`
      : `ROLLBACK INCOMPLETE, fix by hand: ${left.join("; ")}`;
  return new CommandError(e.command, e.code, `${e.stderr.trim()}\n${outcome}`, { cause: e });
}
