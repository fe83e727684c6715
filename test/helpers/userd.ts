// kvmnet-userd in a test namespace: started with --listen on a socket in the test's directory, stopped by its pid;
// clients run as an ordinary user (setpriv) inside the same namespace.
import { existsSync } from "node:fs";
import { execa } from "execa";
import { DEFAULT_TIMEOUT, program, type Netns } from "./netns.js";

/** A running service. */
export interface Userd {
  socket: string;
  /** What it logged so far. */
  log: () => string;
  /** SIGTERM, then its exit (execa sends SIGKILL 5 s after a SIGTERM not obeyed). */
  stop: () => Promise<{ exitCode?: number | undefined; signal?: string | undefined }>;
  /** True while its process runs. */
  alive: () => boolean;
}

/** Start kvmnet-userd in NS with config FILE, listening on SOCKET; resolves once the socket is there. */
export async function startUserd(
  ns: Netns,
  file: string,
  socket: string,
  bin = program("kvmnet-userd"),
): Promise<Userd> {
  const child = execa("ip", ["netns", "exec", ns.name, process.execPath, bin, "--listen", socket], {
    env: { KVMNET_CONFIG: file },
    reject: false,
  });
  let log = "";
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  let exited = false;
  void child.then(() => (exited = true));
  for (let i = 0; i < 600 && !/serving/.test(log); i++) {
    if (exited) throw new Error(`kvmnet-userd exited: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(socket)) throw new Error(`kvmnet-userd made no socket: ${log}`);
  return {
    socket,
    log: () => log,
    alive: () => !exited,
    stop: async () => {
      child.kill("SIGTERM");
      const r = await child;
      return { exitCode: r.exitCode, signal: r.signal };
    },
  };
}

/** Run CMD ARGS in NS as USER (name; its groups too), with ENV only. */
export function asUser(
  ns: Netns,
  user: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeout = DEFAULT_TIMEOUT,
) {
  const setpriv = ["setpriv", `--reuid=${user}`, `--regid=${user === "nobody" ? "nogroup" : user}`, "--init-groups"];
  return execa(
    "ip",
    ["netns", "exec", ns.name, ...setpriv, "env", "-i", "PATH=/usr/bin:/bin", ...envList(env), cmd, ...args],
    {
      reject: false,
      timeout,
    },
  );
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

// A raw client: connect, send argv[2] (JSON-unescaped by the caller), print the service's answer as it came.
const RAW = `const s=require("net").connect(process.argv[1]);let b="";
s.on("connect",()=>{if(process.argv[2])s.write(process.argv[2])});
s.on("data",d=>b+=d);s.on("close",()=>process.stdout.write(b));s.on("error",e=>process.stdout.write("ERR "+e.code))`;

/** Send DATA to the service as USER over a connection of its own; the answer as text. */
export async function rawAsk(ns: Netns, user: string, socket: string, data: string): Promise<string> {
  const r = await asUser(ns, user, process.execPath, ["-e", RAW, socket, data]);
  return String(r.stdout);
}
