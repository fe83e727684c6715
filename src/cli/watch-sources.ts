// Where a watch's events come from: the config (re-read on each pass and on SIGHUP, the last good one kept) and
// the monitors of the host's rulesets and links.
import { spawn, type ChildProcess } from "node:child_process";
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
