// `kvmnet-userd`: the root service that gives ordinary users taps on the networks root allows them
// (allow_users, allow_groups). Started by systemd's kvmnet-userd.socket (the listening socket is fd 3), or with
// --listen PATH (tests, and hosts without systemd).
import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { configPath } from "../../config/load.js";
import { UsageError } from "../../errors.js";
import { SOCKET_PATH } from "./protocol.js";
import { serveConnections } from "./server.js";
import { UserService } from "./service.js";

const USAGE = `usage: kvmnet-userd [--listen PATH]

The root service behind kvmnet-qemu: makes taps owned by the users a network's allow_users / allow_groups name,
attaches them as a root VM's are, and removes them when the VM's connection ends.
Started by kvmnet-userd.socket (systemd passes ${SOCKET_PATH} as fd 3); --listen PATH makes the socket itself
(mode 0666: anyone may ask, the service checks who asks).`;

/** Run the service until SIGTERM; returns the exit code. */
export async function runUserd(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (args[0] === "--help" || args[0] === "-h") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const log = (l: string) => process.stderr.write(`kvmnet-userd: ${l}\n`);
  const svc = new UserService(configPath(env), log);
  const server = createServer({ allowHalfOpen: false, pauseOnConnect: false });
  const stop = serveConnections(server, svc, log);
  const listening = await listen(server, args, env);
  try {
    await svc.adopt();
  } catch (e) {
    log(`taps of a previous run not looked at: ${e instanceof Error ? e.message : String(e)}`);
  }
  log(`serving ${listening}`);
  await new Promise<void>((resolve) => {
    // Stopping the service leaves the taps of running VMs alone: the next start holds them again (adopt).
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => void stop().then(resolve));
  });
  log("stopped; the taps of running VMs stay");
  return 0;
}

// The socket: systemd's (LISTEN_FDS for this process) or PATH of --listen.
async function listen(server: Server, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  if (args[0] === "--listen" && args.length === 2) {
    const path = args[1]!;
    rmSync(path, { force: true });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(path, resolve));
    chmodSync(path, 0o666);
    return path;
  }
  if (args.length) throw new UsageError(`unexpected arguments: ${args.join(" ")} (see kvmnet-userd --help)`);
  if (env.LISTEN_FDS !== "1" || env.LISTEN_PID !== String(process.pid))
    throw new UsageError(
      "no socket: run by systemd's kvmnet-userd.socket (systemctl enable --now kvmnet-userd.socket), or give --listen PATH",
    );
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen({ fd: 3 }, resolve));
  return "the socket systemd passed (fd 3)";
}
