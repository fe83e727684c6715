// `kvmnet-qemu`: run QEMU as yourself on a kvmnet network. Asks kvmnet-userd for a tap, runs QEMU with it, and
// keeps the connection open in both itself and QEMU (inherited as fd 3): the service removes the tap when the last
// of them ends, by exit or by SIGKILL, as the kernel closes the connection.
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { CommandError, UsageError } from "../../errors.js";
import { SOCKET_PATH, type Reply, type Request } from "./protocol.js";
import { NETDEV_ID, nicMac, withMac, withTap } from "./qemu-args.js";

const USAGE = `usage: kvmnet-qemu [--network NET] [--tap NAME] [--] QEMU [ARGS...]
       kvmnet-qemu --list | --remove TAP

Runs QEMU as you with a tap kvmnet-userd made for you on network NET (the only one you may use when not named),
with DHCP, NAT, published ports and the rest of the network as a root VM gets. Every {tap} in ARGS becomes the
tap's name; with none, ARGS get -netdev tap,id=kvmnet0,ifname=TAP,script=no,downscript=no (add
-device virtio-net-pci,netdev=kvmnet0). On a guard = yes network the guard pins the NIC's mac=: give one, or
kvmnet chooses one and adds it to that NIC. The tap goes when QEMU ends.
Root allows users per network in /etc/kvmnet.conf: allow_users = alice, allow_groups = kvm.
Socket: $KVMNET_USER_SOCKET, else ${SOCKET_PATH}.`;

/** Run kvmnet-qemu ARGS; returns the exit code (QEMU's, or 128+signal). */
export async function runUserQemu(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const path = env.KVMNET_USER_SOCKET || SOCKET_PATH;
  const [first, second] = args;
  if (first === "--help" || first === "-h") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (first === "--list" && args.length === 1) {
    const { reply, socket } = await ask(path, { op: "list" });
    socket.destroy();
    for (const t of reply.taps ?? []) process.stdout.write(`${t.tap}\t${t.network}\t${t.user}\n`);
    return 0;
  }
  if (first === "--remove" && second && args.length === 2) {
    (await ask(path, { op: "remove", tap: second })).socket.destroy();
    return 0;
  }
  const req: Extract<Request, { op: "open" }> = { op: "open" };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if ((a === "--network" || a === "--tap") && args[i + 1] !== undefined)
      req[a === "--tap" ? "tap" : "network"] = args[++i]!;
    else if (a.startsWith("-")) throw new UsageError(`unknown option ${a} (see kvmnet-qemu --help)`);
    else break;
  }
  const qemu = args.slice(i);
  if (qemu.length === 0) throw new UsageError("no QEMU command given (see kvmnet-qemu --help)");
  // The guard pins the guest's MAC: the service is told the one QEMU's arguments give, or chooses one for them.
  const mac = nicMac(qemu, req.tap);
  if (mac) req.mac = mac;
  const { reply, socket } = await ask(path, req);
  const tap = reply.tap!;
  let argv = withTap(qemu, tap);
  if (reply.mac && !mac) {
    const put = withMac(argv, tap, reply.mac);
    argv = put.argv;
    if (!put.placed)
      process.stderr.write(
        `kvmnet-qemu: the network guards ${tap} for MAC ${reply.mac}, and no NIC on it was found to give it: ` +
          `add -device DRIVER,netdev=${NETDEV_ID},mac=${reply.mac} (or mac= on the NIC using ${tap})\n`,
      );
  }
  return runHolding(argv, socket);
}

// Run CMD with SOCKET as its fd 3; returns its exit code. Terminal signals reach QEMU by its process group; a
// SIGTERM or SIGHUP sent to this wrapper alone is passed on.
function runHolding(cmd: string[], socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["inherit", "inherit", "inherit", socket] });
    const pass = (sig: NodeJS.Signals) => () => child.kill(sig);
    const handlers = (["SIGTERM", "SIGHUP"] as const).map((s) => [s, pass(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    process.on("SIGINT", () => undefined);
    child.on("error", (e) => {
      socket.destroy();
      reject(new UsageError(`cannot run ${cmd[0]}: ${e.message}`));
    });
    child.on("exit", (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      socket.destroy();
      resolve(code ?? 128 + (signal ? (signalNumber(signal) ?? 1) : 1));
    });
  });
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return (
    { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 } as Record<string, number>
  )[sig];
}

// Send REQ to the service at PATH; its reply (a refusal or failure thrown as kvmnet's errors: exit 2 or 1) and
// the connection, still open.
async function ask(path: string, req: Request): Promise<{ reply: Extract<Reply, { ok: true }>; socket: Socket }> {
  const socket = connect(path);
  const text = await new Promise<string>((resolve, reject) => {
    let buf = "";
    socket.on("error", (e: NodeJS.ErrnoException) => reject(unreachable(path, e)));
    socket.on("connect", () => socket.write(JSON.stringify(req) + "\n"));
    socket.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    socket.on("end", () => reject(new CommandError(`kvmnet-userd at ${path}`, null, "closed without an answer")));
  });
  socket.removeAllListeners("data");
  socket.removeAllListeners("end");
  socket.on("error", () => undefined);
  let reply: Reply;
  try {
    reply = JSON.parse(text) as Reply;
  } catch {
    throw new CommandError(`kvmnet-userd at ${path}`, null, `unreadable answer: ${text.slice(0, 80)}`);
  }
  if (!reply.ok) {
    socket.destroy();
    if (reply.code === 2) throw new UsageError(reply.error);
    throw new CommandError(`kvmnet-userd at ${path}`, null, reply.error);
  }
  return { reply, socket };
}

function unreachable(path: string, e: NodeJS.ErrnoException): Error {
  if (e.code === "ENOENT" || e.code === "ECONNREFUSED")
    return new CommandError(
      `connect ${path}`,
      null,
      `kvmnet-userd is not running (root: systemctl enable --now kvmnet-userd.socket)`,
    );
  return new CommandError(`connect ${path}`, null, e.message);
}
