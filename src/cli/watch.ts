// `kvmnet reapply` and `kvmnet watch`: put back what something else removed of networks that are up (a bridge
// exists): after `nft flush ruleset`, `systemctl restart nftables`, a firewalld reload, a bridge deleted by hand.
// reapply converges them once (kvmnet-reapply.service runs it after nftables.service and firewalld.service);
// watch waits for netlink events (`nft monitor`, `ip monitor link`), no polling, and converges after each burst.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { converge } from "../converge/converge.js";
import type { Config, Network } from "../config/types.js";
import { errnoWords, errorText } from "../errno.js";
import { KvmnetError } from "../errors.js";
import { realExec, type Exec } from "../host/exec.js";
import { readLink } from "../observe/links.js";
import { parseCommand } from "./args.js";
import { configFrom } from "./networks.js";
import { out, warnLine } from "./output.js";
import { linkLineMatters, nftLineMatters, SETTLE_MS, stillUp, watchedLinks } from "./watch-events.js";

const REAPPLY_USAGE = `usage: kvmnet reapply [--verbose]

Converge every network that is up (its bridge exists) to its configuration: kvmnet's rules, dnsmasq, addresses
come back after another program removed them. A network that is down stays down. Run by kvmnet-reapply.service
after nftables.service, firewalld.service or netfilter-persistent.service start, restart or reload.`;

const WATCH_USAGE = `usage: kvmnet watch [--verbose]

Wait for changes to the host's rulesets and links (nft monitor, ip monitor link; no polling) and, after each
burst of them, converge the networks that are up. A network whose bridge was deleted by another program while
its dnsmasq or rules remained is made again; one taken down by kvmnet down or a down hook stays down.
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

/** Run `kvmnet watch ARGS` until SIGTERM or SIGINT. */
export async function runWatch(args: string[], env: NodeJS.ProcessEnv, exec: Exec = realExec): Promise<number> {
  const parsed = parseCommand({ name: "watch", usage: WATCH_USAGE, options: verboseOption, maxPositionals: 0 }, args);
  if (!parsed) return 0;
  const verbose = !!parsed.values.verbose;
  let config = configFrom(env); // a bad config at start is exit 2; later, the last good one is kept
  let names = watchedLinks(config);
  let configError = "";
  // The networks to keep: up now, and any seen up later (a bridge deleted by another program is made again).
  const seen = new Set(config.networks.filter(isUp).map((n) => n.name));
  const monitors: ChildProcess[] = [
    spawn("nft", ["monitor"], { stdio: ["ignore", "pipe", "inherit"] }),
    spawn("ip", ["monitor", "link"], { stdio: ["ignore", "pipe", "inherit"] }),
  ];
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((r) => (finish = r));
  const onHup = () => {
    // systemctl reload (kill -HUP): take the config as it is now and converge with it; nothing is stopped.
    reload();
    out(`kvmnet watch: SIGHUP: ${configError ? "config kept as it was" : "config reloaded"}`);
    poke();
  };
  const stop = (code: number) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    process.off("SIGHUP", onHup);
    for (const m of monitors) m.kill("SIGTERM");
    finish(code);
  };
  process.once("SIGTERM", () => stop(0));
  process.once("SIGINT", () => stop(0));
  // Before anything can fail: by default a SIGHUP would end this process and orphan its monitors.
  process.on("SIGHUP", onHup);
  for (const m of monitors) {
    const gone = (why: string) => {
      if (stopped) return;
      warnLine(`kvmnet watch: ${m.spawnargs.join(" ")} ${why}`);
      stop(1);
    };
    m.once("error", (e) => gone(`failed: ${errnoWords(e)}`));
    // Not at once: a SIGTERM or Ctrl-C to the whole group reaches the monitors too, maybe before this process.
    m.once("exit", (code, signal) => setTimeout(() => gone(`exited (${code ?? signal})`), 200));
  }
  let running = false;
  let again = false;
  let holdUntil = 0;
  const changed: number[] = []; // times of the last passes that changed something
  const reload = () => {
    try {
      config = configFrom(env);
      names = watchedLinks(config);
      configError = "";
    } catch (e) {
      if (!(e instanceof KvmnetError)) throw e;
      if (e.message !== configError) warnLine(`kvmnet watch: keeping the config as it was: ${e.message}`);
      configError = e.message;
    }
  };
  const onePass = async () => {
    reload();
    for (const n of config.networks) if (isUp(n)) seen.add(n.name);
    const nets = config.networks.filter((n) => seen.has(n.name));
    const steps = await reapplyNets(config, nets, exec, verbose, (n) => {
      seen.delete(n.name);
      if (verbose) out(`${n.name}: down, no longer kept`);
    });
    if (verbose) out(`watch: pass done, ${steps} step${steps === 1 ? "" : "s"}`);
    if (steps === 0) return;
    const now = Date.now();
    changed.push(now);
    if (changed.length > BURST) changed.shift();
    if (changed.length === BURST && now - changed[0]! < WINDOW_MS) {
      warnLine(
        `kvmnet watch: something keeps changing kvmnet's rules or bridges (${BURST} re-applies in under ` +
          `${WINDOW_MS / 1000} s); waiting ${WINDOW_MS / 1000} s before the next`,
      );
      holdUntil = now + WINDOW_MS;
      changed.length = 0;
    }
  };
  const pass = async () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await onePass();
      } while (again && !stopped);
    } catch (e) {
      warnLine(`kvmnet watch: ${errorText(e)}`);
    } finally {
      running = false;
    }
  };
  const poke = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void pass(), Math.max(SETTLE_MS, holdUntil - Date.now()));
  };
  const [nft, ip] = monitors as [ChildProcess, ChildProcess];
  createInterface({ input: nft.stdout! }).on("line", (l) => nftLineMatters(l) && poke());
  createInterface({ input: ip.stdout! }).on("line", (l) => linkLineMatters(l, names) && poke());
  // Whatever happened before the monitors started.
  await pass();
  const list = [...seen].join(", ") || "none";
  if (!stopped)
    out(`kvmnet watch: ${seen.size} network${seen.size === 1 ? "" : "s"} up (${list}); waiting for changes`);
  return finished;
}
