// Where a watch's events come from: the config (re-read on each pass and on SIGHUP, the last good one kept) and
// the monitors of the host's rulesets and links.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Config } from "../config/types.js";
import { errnoWords } from "../errno.js";
import { KvmnetError } from "../errors.js";
import { configFrom } from "./networks.js";
import { warnLine } from "./output.js";
import { linkLineMatters, nftLineMatters, watchedLinks } from "./watch-events.js";

/** The config a watch runs with: the last one that loaded (a bad config at start is exit 2; later, the last good
 *  one is kept, and its error said once), and the links whose events matter to it. */
export class KeptConfig {
  config: Config;
  names: Set<string>;
  error = "";
  constructor(private readonly env: NodeJS.ProcessEnv) {
    this.config = configFrom(env);
    this.names = watchedLinks(this.config);
  }
  /** Take the config as it is now; false when it does not load (the previous one stays). */
  reload(): boolean {
    try {
      this.config = configFrom(this.env);
      this.names = watchedLinks(this.config);
      this.error = "";
      return true;
    } catch (e) {
      if (!(e instanceof KvmnetError)) throw e;
      if (e.message !== this.error) warnLine(`kvmnet watch: keeping the config as it was: ${e.message}`);
      this.error = e.message;
      return false;
    }
  }
}

// NETLINK_NETFILTER, the protocol of nft monitor's socket in /proc/net/netlink.
const NETLINK_NETFILTER = "12";

/** Whether process PID holds a netfilter netlink socket subscribed to some group (nft monitor listening): its
 *  socket's inode among PID's fds, with a non-zero Groups column in /proc/net/netlink. */
export function nftListening(pid: number): boolean {
  try {
    const inodes = new Set(
      readdirSync(`/proc/${pid}/fd`)
        .map((fd) => readlinkQuiet(`/proc/${pid}/fd/${fd}`))
        .filter((l) => l.startsWith("socket:["))
        .map((l) => l.slice(8, -1)),
    );
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    return readFileSync("/proc/net/netlink", "utf8")
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .some((f) => f[1] === NETLINK_NETFILTER && /[1-9a-f]/.test(f[3] ?? "") && inodes.has(f[9] ?? ""));
  } catch {
    return false;
  }
}

const readlinkQuiet = (path: string) => {
  try {
    return readlinkSync(path);
  } catch {
    return ""; // closed meanwhile
  }
};

/** Resolves true once `nft monitor` (process PID) listens, false after MS or once GIVEUP holds: a change made
 *  before it listens is never reported, so nothing read before can be kept until it is. */
export async function untilNftListening(pid: number, ms: number, giveUp: () => boolean): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms && !giveUp(); await new Promise((r) => setTimeout(r, 5)))
    if (nftListening(pid)) return true;
  return false;
}

/** `nft monitor` and `ip monitor link`, each line that matters poking the watch; GONE when one fails or exits.
 *  RULESET: told of every line of `nft monitor` (any change to the host's rulesets). */
export function startMonitors(
  kept: KeptConfig,
  poke: () => void,
  gone: (why: string) => void,
  ruleset: () => void = () => {},
): ChildProcess[] {
  const monitors = [
    spawn("nft", ["monitor"], { stdio: ["ignore", "pipe", "inherit"] }),
    spawn("ip", ["monitor", "link"], { stdio: ["ignore", "pipe", "inherit"] }),
  ] as const;
  for (const m of monitors) {
    const what = m.spawnargs.join(" ");
    m.once("error", (e) => gone(`${what} failed: ${errnoWords(e)}`));
    // Not at once: a SIGTERM or Ctrl-C to the whole group reaches the monitors too, maybe before this process.
    m.once("exit", (code, signal) => setTimeout(() => gone(`${what} exited (${code ?? signal})`), 200));
  }
  const [nft, ip] = monitors;
  createInterface({ input: nft.stdout }).on("line", (l) => {
    ruleset();
    if (nftLineMatters(l)) poke();
  });
  createInterface({ input: ip.stdout }).on("line", (l) => linkLineMatters(l, kept.names) && poke());
  return [...monitors];
}
