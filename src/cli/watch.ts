// `kvmnet reapply` and `kvmnet watch`: put back what something else removed of networks that are up (a bridge
// exists): after `nft flush ruleset`, `systemctl restart nftables`, a firewalld reload, a bridge deleted by hand.
// reapply converges them once (kvmnet-reapply.service runs it after nftables.service and firewalld.service);
// watch waits for netlink events (`nft monitor`, `ip monitor link`), no polling, and converges after each burst.
import { spawn, type ChildProcess } from "node:child_process";
import { converge } from "../converge/converge.js";
import type { Config, Network } from "../config/types.js";
import { KvmnetError } from "../errors.js";
import { realExec, type Exec } from "../host/exec.js";
import { readLink } from "../observe/links.js";
import { parseCommand } from "./args.js";
import { configFrom } from "./networks.js";
import { out, warnLine } from "./output.js";

const REAPPLY_USAGE = `usage: kvmnet reapply [--verbose]

Converge every network that is up (its bridge exists) to its configuration: kvmnet's rules, dnsmasq, addresses
come back after another program removed them. A network that is down stays down. Run by kvmnet-reapply.service
after nftables.service and firewalld.service start or reload.`;

const WATCH_USAGE = `usage: kvmnet watch [--verbose]

Wait for changes to the host's rulesets and links (nft monitor, ip monitor link; no polling) and, after each
burst of them, converge the networks that are up, or that this watch saw up (a bridge deleted by hand comes back).
Runs until SIGTERM or SIGINT. With iptables-legacy, changes are not seen: use kvmnet-reapply.service instead.`;

/** Quiet time after the last event before converging: a flush or a reload comes as a burst of events. */
export const SETTLE_MS = 150;

// Converge each network in NETS; returns how many steps were carried out (errors are reported, not fatal).
async function reapplyNets(config: Config, nets: Network[], exec: Exec, verbose: boolean): Promise<number> {
  let total = 0;
  for (const net of nets) {
    try {
      const done = await converge(
        config,
        net,
        { action: "up" },
        { exec, warn: warnLine, ...(verbose ? { log: out } : {}) },
      );
      if (done.steps.length)
        out(`${net.name}: reapplied (${done.steps.length} step${done.steps.length > 1 ? "s" : ""})`);
      total += done.steps.length;
    } catch (e) {
      if (!(e instanceof KvmnetError)) throw e;
      for (const l of e.message.split("\n")) warnLine(`${net.name}: ${l}`);
    }
  }
  return total;
}

const isUp = (net: Network) => readLink(net.bridge)?.isBridge === true;

/** Run `kvmnet reapply ARGS`. */
export async function runReapply(args: string[], env: NodeJS.ProcessEnv, exec: Exec = realExec): Promise<number> {
  const parsed = parseCommand(
    { name: "reapply", usage: REAPPLY_USAGE, options: { verbose: { type: "boolean", short: "v" } }, maxPositionals: 0 },
    args,
  );
  if (!parsed) return 0;
  const config = configFrom(env);
  await reapplyNets(config, config.networks.filter(isUp), exec, !!parsed.values.verbose);
  return 0;
}

/** Run `kvmnet watch ARGS` until SIGTERM or SIGINT. */
export async function runWatch(args: string[], env: NodeJS.ProcessEnv, exec: Exec = realExec): Promise<number> {
  const parsed = parseCommand(
    { name: "watch", usage: WATCH_USAGE, options: { verbose: { type: "boolean", short: "v" } }, maxPositionals: 0 },
    args,
  );
  if (!parsed) return 0;
  const verbose = !!parsed.values.verbose;
  const config = configFrom(env);
  // The networks to keep: up now, and any seen up later (so a deleted bridge is made again).
  const seen = new Set(config.networks.filter(isUp).map((n) => n.name));
  const monitors: ChildProcess[] = [
    spawn("nft", ["monitor"], { stdio: ["ignore", "pipe", "inherit"] }),
    spawn("ip", ["monitor", "link"], { stdio: ["ignore", "pipe", "inherit"] }),
  ];
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const pass = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        for (const n of config.networks) if (isUp(n)) seen.add(n.name);
        const steps = await reapplyNets(
          config,
          config.networks.filter((n) => seen.has(n.name)),
          exec,
          verbose,
        );
        if (verbose && steps === 0) out("watch: all networks as configured");
      } while (again);
    } finally {
      running = false;
    }
  };
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void pass(), SETTLE_MS);
  };
  for (const m of monitors) m.stdout!.on("data", poke);
  // Whatever happened before the monitors started.
  await pass();
  const names = [...seen].join(", ") || "none";
  out(`kvmnet watch: ${seen.size} network${seen.size === 1 ? "" : "s"} up (${names}); waiting for changes`);
  return new Promise<number>((resolve) => {
    let exited = false;
    const stop = (code: number) => {
      if (exited) return;
      exited = true;
      clearTimeout(timer);
      for (const m of monitors) m.kill("SIGTERM");
      resolve(code);
    };
    process.once("SIGTERM", () => stop(0));
    process.once("SIGINT", () => stop(0));
    for (const m of monitors)
      m.once("exit", (code) => {
        warnLine(`kvmnet watch: ${m.spawnargs.join(" ")} exited (${code ?? "signal"})`);
        stop(1);
      });
  });
}
