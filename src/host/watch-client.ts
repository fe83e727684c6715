// A hook's first stage: when a `kvmnet watch` for the hook's config serves hooks (its socket is in the config's
// state_dir), ask it to run the hook, and print its answer; otherwise (no watch, another build, another network
// namespace, a step the watch leaves to the hook such as starting dnsmasq) the hook runs on its own as always.
// The build puts this module before each hook's bundle (scripts/code-cache.mjs), so it loads nothing of kvmnet
// but src/core/served.ts: a served hook costs node's start and one round trip.
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { basename } from "node:path";
import {
  configFile,
  SERVED_ENV,
  SERVED_HOOKS,
  SERVED_PROTOCOL,
  stateDirOf,
  watchSocket,
  type HookReply,
  type HookRequest,
} from "../core/served.js";
import { BUILD } from "../version.js";
import { kvmnetCommand } from "./self.js";

// An answer longer than this is not a watch's.
const MAX_REPLY = 1 << 20;

/** The request ARGV and ENV make, or null when this run is not one a watch serves. */
export function hookRequest(argv: readonly string[], env: NodeJS.ProcessEnv): HookRequest | null {
  const runAs = basename(argv[1] ?? "").replace(/\.(c?js|mjs)$/, "");
  const program = runAs.split("@")[0]!;
  const args = argv.slice(2);
  if (!(SERVED_HOOKS as readonly string[]).includes(program)) return null;
  if (args.length !== 1 || args[0]!.startsWith("-")) return null;
  if (env.KVMNET_LOCAL === "1" || BUILD === "unbuilt" || process.getuid?.() !== 0) return null;
  const config = configFile(env);
  let stateDir: string | null;
  try {
    stateDir = stateDirOf(readFileSync(config, "utf8"));
  } catch {
    return null; // the hook itself says what is wrong with the config
  }
  if (stateDir === null) return null;
  // Root's socket only: nobody else can make one (root's state_dir), nor answer for the watch.
  const st = lstatSync(watchSocket(stateDir), { throwIfNoEntry: false });
  if (!st?.isSocket() || st.uid !== 0) return null;
  const hookEnv: HookRequest["env"] = {};
  for (const k of SERVED_ENV) if (env[k] !== undefined) hookEnv[k] = env[k];
  return {
    v: SERVED_PROTOCOL,
    build: BUILD,
    runAs,
    args,
    env: hookEnv,
    netns: readlinkSync("/proc/self/ns/net"),
    ppid: process.ppid,
    config,
    stateDir,
    kvmnet: kvmnetCommand(),
  };
}

/** Ask the watch for ARGV's hook: its exit code (its stderr written to ours), or null when the hook must run on
 *  its own (nothing was changed then). A watch that dies mid-run also gives null: the hook runs again on its own,
 *  which is safe, since a run only converges. */
export function askWatch(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  let request: HookRequest | null;
  try {
    request = hookRequest(argv, env);
  } catch {
    request = null;
  }
  if (!request) return Promise.resolve(null);
  return new Promise((resolve) => {
    const sock = connect({ path: watchSocket(request.stateDir) });
    let got = "";
    const finish = (code: number | null) => {
      sock.destroy();
      resolve(code);
    };
    sock.setEncoding("utf8");
    sock.write(JSON.stringify(request) + "\n"); // sent once connected
    sock.on("data", (d: string) => {
      got += d;
      if (got.length > MAX_REPLY) return finish(null);
      const nl = got.indexOf("\n");
      if (nl < 0) return;
      let reply: HookReply;
      try {
        reply = JSON.parse(got.slice(0, nl)) as HookReply;
      } catch {
        return finish(null);
      }
      if (!reply.served || typeof reply.code !== "number") return finish(null);
      if (reply.err) process.stderr.write(reply.err);
      finish(reply.code);
    });
    sock.on("error", () => finish(null));
    sock.on("close", () => finish(null));
  });
}
