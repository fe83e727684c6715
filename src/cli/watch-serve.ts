// `kvmnet watch` serving hooks: a hook of the same build, in the same network namespace, with the same config,
// hands its run to the watch (src/host/watch-client.ts) instead of loading kvmnet itself. The watch runs it as
// the hook would (src/converge/hook.ts, the same converge), in turn with its own passes, and answers with the exit code
// and the lines the hook would have printed. Two things differ, both on purpose:
// - the firewall's quick look is answered from the watch's last look while `nft monitor` has reported no change
//   since (the watch puts back whatever a change removed, as it does for running VMs);
// - a run that would start dnsmasq is declined (nothing changed) and the hook runs it itself: a daemon started
//   by the watch would be accounted to the watch's service (its cgroup) for as long as it runs, and killed with
//   it under an older unit (KillMode=mixed).
import { chmodSync, linkSync, lstatSync, readlinkSync, realpathSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { Declined } from "../converge/converge.js";
import type { Step } from "../core/steps.js";
import { parseRequest, watchSocket, type HookReply, type HookRequest } from "../core/served.js";
import type { Serial } from "../core/serial.js";
import { splitProgramName } from "../core/ifname.js";
import { failureReport } from "../errors.js";
import type { Exec } from "../host/exec.js";
import { ensureDir } from "../host/dirs.js";
import { kvmnetCommand } from "../host/self.js";
import { tryConnect, unlinkQuiet } from "../host/unix-socket.js";
import { runHook } from "../converge/hook.js";
import { isHook } from "../programs.js";
import { BUILD } from "../version.js";

// A request is one line; a longer one is not a hook's.
const MAX_REQUEST = 64 * 1024;
// A client that says nothing for this long is dropped (only root can connect).
const IDLE_MS = 10_000;

/** Where and how a watch serves hooks. */
export interface ServeOptions {
  stateDir: string;
  /** The watch's config file, as given ($KVMNET_CONFIG or the default). */
  config: string;
  exec: Exec;
  /** Shared with the watch's passes: one run at a time. */
  serial: Serial;
  /** Each request's outcome, when the watch is verbose. */
  log?: (line: string) => void;
}

/** Why the watch would not serve REQ (null: it would), given its OPTS. */
export function mismatch(req: HookRequest, opts: ServeOptions): string | null {
  if (BUILD === "unbuilt" || req.build !== BUILD) return `the hook is of build ${req.build}, this watch of ${BUILD}`;
  if (req.netns !== readlinkSync("/proc/self/ns/net")) return "the hook runs in another network namespace";
  if (req.stateDir !== opts.stateDir) return `the hook's state_dir is ${req.stateDir}, this watch's ${opts.stateDir}`;
  if (real(req.config) !== real(opts.config)) return `the hook's config is ${req.config}, this watch's ${opts.config}`;
  if (req.kvmnet !== kvmnetCommand()) return "the hook runs kvmnet from another program file";
  if (!isHook(splitProgramName(req.runAs).program)) return `${req.runAs} is not a hook`;
  return null;
}

const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

// The steps a watch carries out for a hook: all but starting dnsmasq (see the top of this file).
function startsNothing(steps: Step[]): string | null {
  return steps.some((s) => s.kind === "dnsmasq-start") ? "the run starts dnsmasq" : null;
}

/** Run the hook REQ asks for, as the hook would have; its answer. */
export async function answer(req: HookRequest, opts: ServeOptions): Promise<HookReply> {
  const why = mismatch(req, opts);
  if (why) return { served: false, why };
  const { program, net } = splitProgramName(req.runAs);
  if (!isHook(program)) return { served: false, why: `${req.runAs} is not a hook` };
  let err = "";
  const line = (l: string) => (err += `${program}: ${l}\n`);
  try {
    await runHook({
      program,
      args: req.args,
      env: { ...req.env },
      ...(net !== undefined ? { suffixNet: net } : {}),
      exec: opts.exec,
      warn: line,
      ...(req.env.KVMNET_VERBOSE ? { log: line } : {}),
      parent: req.ppid,
      accept: startsNothing,
    });
    return { served: true, code: 0, err };
  } catch (e) {
    if (e instanceof Declined) return { served: false, why: e.message };
    const { code, text } = failureReport(program, e);
    return { served: true, code, err: err + text };
  }
}

/** Serve hooks on the socket in OPTS.stateDir until close(); null (and a warning) when another watch serves there. */
export async function serveHooks(opts: ServeOptions, warn: (l: string) => void): Promise<{ close(): void } | null> {
  ensureDir(opts.stateDir);
  const path = watchSocket(opts.stateDir);
  const own = `${path}.${process.pid}`;
  unlinkQuiet(own);
  const server = createServer((sock) => onClient(sock, opts));
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen({ path: own, backlog: 511 }, () => ok());
  });
  chmodSync(own, 0o600);
  server.unref(); // the watch ends when its monitors do, whatever a hook is doing
  // link(2) fails while the name exists: two watches never take it from each other; a dead one's is removed.
  for (let tries = 0; ; tries++) {
    try {
      linkSync(own, path);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || tries > 0 || (await tryConnect(path)) === null) {
        server.close();
        unlinkQuiet(own);
        warn(`kvmnet watch: another kvmnet watch serves hooks at ${path}; this one does not`);
        return null;
      }
      unlinkQuiet(path);
    }
  }
  unlinkQuiet(own);
  const ino = lstatSync(path).ino;
  return {
    close() {
      server.close();
      if (lstatSync(path, { throwIfNoEntry: false })?.ino === ino) unlinkQuiet(path);
    },
  };
}

function onClient(sock: Socket, opts: ServeOptions): void {
  let got = "";
  sock.setEncoding("utf8");
  sock.setTimeout(IDLE_MS, () => sock.destroy());
  sock.on("error", () => {});
  sock.on("data", (d: string) => {
    got += d;
    const nl = got.indexOf("\n");
    if (nl < 0) {
      if (got.length > MAX_REQUEST) sock.destroy();
      return;
    }
    sock.removeAllListeners("data");
    sock.setTimeout(0);
    const req = parseRequest(got.slice(0, nl));
    const reply: Promise<HookReply> =
      typeof req === "string"
        ? Promise.resolve({ served: false, why: `bad request: ${req}` })
        : opts.serial.run(() => answer(req, opts));
    void reply.then((r) => {
      if (opts.log) opts.log(outcome(req, r));
      sock.end(JSON.stringify(r) + "\n");
    });
  });
}

function outcome(req: HookRequest | string, r: HookReply): string {
  const what = typeof req === "string" ? "a request" : `${req.runAs} ${req.args.join(" ")}`;
  return r.served ? `kvmnet watch: served ${what}: exit ${r.code}` : `kvmnet watch: left ${what} to the hook: ${r.why}`;
}
