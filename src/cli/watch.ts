// `kvmnet reapply` and `kvmnet watch`: put back what something else removed of networks that are up (a bridge
// exists): after `nft flush ruleset`, `systemctl restart nftables`, a firewalld reload, a bridge deleted by hand.
// reapply converges them once (kvmnet-reapply.service runs it after nftables.service and firewalld.service);
// watch waits for netlink events (`nft monitor`, `ip monitor link`), no polling, and converges after each burst.
import { converge } from "../converge/converge.js";
import type { Config, Network } from "../config/types.js";
import { errorText } from "../errno.js";
import { KvmnetError } from "../errors.js";
import { realExec, type Exec } from "../host/exec.js";
import { readLink } from "../observe/links.js";
import { parseCommand } from "./args.js";
import { configFrom } from "./networks.js";
import { out, warnLine } from "./output.js";
import { Pacer } from "../core/pacer.js";
import { SETTLE_MS, stillUp } from "./watch-events.js";
import { KeptConfig, startMonitors, untilNftListening } from "./watch-sources.js";
import { serveHooks } from "./watch-serve.js";
import { ReadCache } from "../host/read-cache.js";
import { rulesetCommand } from "../firewall/ruleset-reads.js";
import { Serial } from "../core/serial.js";
import { configPath } from "../config/load.js";

const REAPPLY_USAGE = `usage: kvmnet reapply [--verbose]

Converge every network that is up (its bridge exists) to its configuration: kvmnet's rules, dnsmasq, addresses
come back after another program removed them. A network that is down stays down. Run by kvmnet-reapply.service
after nftables.service, firewalld.service or netfilter-persistent.service start, restart or reload.`;

const WATCH_USAGE = `usage: kvmnet watch [--verbose]

Wait for changes to the host's rulesets and links (nft monitor, ip monitor link; no polling) and, after each
burst of them, converge the networks that are up. A network whose bridge was deleted by another program while
its dnsmasq or rules remained is made again; one taken down by kvmnet down or a down hook stays down.
Hooks of the same kvmnet, config and network namespace hand their runs to the watch (STATE_DIR/.watch.sock),
which saves each VM start and stop most of a node start; KVMNET_LOCAL=1 in a hook's environment declines that.
SIGHUP re-reads the config (stopping nothing). Runs until SIGTERM or SIGINT. iptables-legacy changes are not seen (no netlink events): use
kvmnet-reapply.service for those.`;

// More passes that changed something than this within WINDOW_MS: something keeps undoing kvmnet's work; wait
// WINDOW_MS before the next pass instead of fighting it as fast as it can.
const BURST = 5;
const WINDOW_MS = 10_000;

const isUp = (net: Network) => readLink(net.bridge)?.isBridge === true;

// Converge each of NETS that is still up under its lock (DOWN: told of the others); returns how many steps were
// carried out. Errors are reported, not fatal: one broken network must not stop the others'.
async function reapplyNets(
  config: Config,
  nets: Network[],
  exec: Exec,
  verbose: boolean,
  down: (net: Network) => void = () => {},
): Promise<number> {
  let total = 0;
  for (const net of nets) {
    let up = true;
    try {
      const done = await converge(
        config,
        net,
        { action: "up" },
        { exec, warn: warnLine, onlyIf: (s) => (up = stillUp(net, s)), ...(verbose ? { log: out } : {}) },
      );
      if (!up) down(net);
      else if (done.steps.length)
        out(`${net.name}: reapplied (${done.steps.length} step${done.steps.length > 1 ? "s" : ""})`);
      total += done.steps.length;
    } catch (e) {
      if (!(e instanceof KvmnetError)) throw e;
      for (const l of e.message.split("\n")) warnLine(`${net.name}: ${l}`);
    }
  }
  return total;
}

const verboseOption = { verbose: { type: "boolean", short: "v" } } as const;

/** Run `kvmnet reapply ARGS`. */
export async function runReapply(args: string[], env: NodeJS.ProcessEnv, exec: Exec = realExec): Promise<number> {
  const parsed = parseCommand(
    { name: "reapply", usage: REAPPLY_USAGE, options: verboseOption, maxPositionals: 0 },
    args,
  );
  if (!parsed) return 0;
  const config = configFrom(env);
  await reapplyNets(config, config.networks.filter(isUp), exec, !!parsed.values.verbose);
  return 0;
}

// One round of a watch: the config re-read, then every network that is up or was seen up converged (a bridge
// deleted by another program is made again; a network taken down is no longer kept). Returns the steps carried out.
async function watchRound(kept: KeptConfig, seen: Set<string>, exec: Exec, verbose: boolean): Promise<number> {
  kept.reload();
  for (const n of kept.config.networks) if (isUp(n)) seen.add(n.name);
  const nets = kept.config.networks.filter((n) => seen.has(n.name));
  const steps = await reapplyNets(kept.config, nets, exec, verbose, (n) => {
    seen.delete(n.name);
    if (verbose) out(`${n.name}: down, no longer kept`);
  });
  if (verbose) out(`watch: pass done, ${steps} step${steps === 1 ? "" : "s"}`);
  return steps;
}

// Passes paced by PACER: poke (re)arms the timer after an event; a pass goes round ROUND until none is due meanwhile,
// and says so when the pacer backs off. Errors are reported, not fatal. STOPPED: no pass after the watch stopped.
function pacedPasses(pacer: Pacer, round: () => Promise<number>, stopped: () => boolean) {
  let timer: NodeJS.Timeout | undefined;
  const pass = async () => {
    if (stopped() || !pacer.start()) return;
    try {
      do {
        if (pacer.roundDone(Date.now(), await round()))
          warnLine(
            `kvmnet watch: something keeps changing kvmnet's rules or bridges (${BURST} re-applies in under ` +
              `${WINDOW_MS / 1000} s); waiting ${WINDOW_MS / 1000} s before the next`,
          );
      } while (pacer.another() && !stopped());
    } catch (e) {
      warnLine(`kvmnet watch: ${errorText(e)}`);
    } finally {
      pacer.end();
    }
  };
  const poke = () => {
    if (stopped()) return;
    clearTimeout(timer);
    timer = setTimeout(() => void pass(), pacer.delay(Date.now()));
  };
  return { pass, poke, cancel: () => clearTimeout(timer) };
}

/** Run `kvmnet watch ARGS` until SIGTERM or SIGINT. */
export async function runWatch(args: string[], env: NodeJS.ProcessEnv, exec: Exec = realExec): Promise<number> {
  const parsed = parseCommand({ name: "watch", usage: WATCH_USAGE, options: verboseOption, maxPositionals: 0 }, args);
  if (!parsed) return 0;
  const verbose = !!parsed.values.verbose;
  const kept = new KeptConfig(env);
  // The networks to keep: up now, and any seen up later.
  const seen = new Set(kept.config.networks.filter(isUp).map((n) => n.name));
  const state = { stopped: false, finish: (_code: number) => {} };
  const finished = new Promise<number>((r) => (state.finish = r));
  const pacer = new Pacer({ settleMs: SETTLE_MS, burst: BURST, windowMs: WINDOW_MS });
  // The rulesets' reads are answered from the last one until nft monitor reports a change (src/host/read-cache.ts),
  // once it listens (before the first pass: anything changed earlier, that pass reads).
  let keep = false;
  const reads = new ReadCache(exec, (cmd, args) => (keep ? rulesetCommand(cmd, args) : "other"));
  const serial = new Serial();
  const passes = pacedPasses(
    pacer,
    () => serial.run(() => watchRound(kept, seen, reads.exec, verbose)),
    () => state.stopped,
  );
  // systemctl reload (kill -HUP): take the config as it is now and converge with it; nothing is stopped.
  const onHup = () => {
    out(`kvmnet watch: SIGHUP: ${kept.reload() ? "config reloaded" : "config kept as it was"}`);
    passes.poke();
  };
  const stop = (code: number) => {
    if (state.stopped) return;
    state.stopped = true;
    passes.cancel();
    process.off("SIGHUP", onHup);
    for (const m of monitors) m.kill("SIGTERM");
    served?.close();
    state.finish(code);
  };
  let served: { close(): void } | null = null;
  const monitors = startMonitors(
    kept,
    passes.poke,
    (why) => {
      if (state.stopped) return;
      warnLine(`kvmnet watch: ${why}`);
      stop(1);
    },
    () => reads.changed(),
  );
  process.once("SIGTERM", () => stop(0));
  process.once("SIGINT", () => stop(0));
  // Before anything can fail: by default a SIGHUP would end this process and orphan its monitors.
  process.on("SIGHUP", onHup);
  keep = await untilNftListening(monitors[0]!.pid ?? 0, 5_000, () => state.stopped);
  if (!keep && !state.stopped)
    warnLine("kvmnet watch: cannot tell that nft monitor listens: every run looks at the rulesets itself");
  // Whatever happened before the monitors started.
  await passes.pass();
  if (!state.stopped) {
    const opts = { stateDir: kept.config.stateDir, config: configPath(env), exec: reads.exec, serial };
    served = await serveHooks(verbose ? { ...opts, log: out } : opts, warnLine);
    if (state.stopped) served?.close();
  }
  const list = [...seen].join(", ") || "none";
  if (!state.stopped)
    out(`kvmnet watch: ${seen.size} network${seen.size === 1 ? "" : "s"} up (${list}); waiting for changes`);
  return finished;
}
