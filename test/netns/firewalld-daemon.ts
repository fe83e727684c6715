// A real firewalld (Debian's package, nftables backend) inside a test network namespace, with a D-Bus of its own:
// a private dbus-daemon (system bus type, a config file in a temp dir, socket there too), reached through
// DBUS_SYSTEM_BUS_ADDRESS. Every command of the sandbox (firewalld, firewall-cmd, kvmnet) runs in the namespace
// and in a private mount namespace where /etc/firewalld is a temp copy and /run a temp dir, so nothing of the
// host's firewalld files, /run or rulesets is touched. Stopped by the pids started.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { Netns } from "../helpers/netns.js";

/** A firewalld sandbox for namespace NS (call start()). */
export function firewalldSandbox(ns: Netns) {
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-firewalld-"));
  const etc = join(dir, "etc-firewalld");
  cpSync("/etc/firewalld", etc, { recursive: true });
  mkdirSync(join(dir, "run"));
  const bus = `unix:path=${join(dir, "bus")}`;
  writeFileSync(
    join(dir, "bus.conf"),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>${bus}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  );
  const enter = join(dir, "enter.sh");
  writeFileSync(
    enter,
    `#!/bin/sh\nset -e\nmount --bind ${etc} /etc/firewalld\nmount --bind ${dir}/run /run\nexport DBUS_SYSTEM_BUS_ADDRESS=${bus}\nexec "$@"\n`,
  );
  chmodSync(enter, 0o755);
  const wrap = (cmd: string, args: string[]) => [
    "netns",
    "exec",
    ns.name,
    "unshare",
    "-m",
    "--propagation",
    "private",
    enter,
    cmd,
    ...args,
  ];
  let dbus: ChildProcess | null = null;
  let firewalld: ChildProcess | null = null;

  const sb = {
    dir,
    /** The sandbox's /etc/firewalld. */
    etc,
    /** Run CMD ARGS in the sandbox; returns code and output. */
    async run(cmd: string, args: string[], env: Record<string, string> = {}) {
      const r = await execa("ip", wrap(cmd, args), { env, reject: false, timeout: 120_000 });
      return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
    },
    /** As run(), in the background. */
    async runAsync(cmd: string, args: string[], env: Record<string, string> = {}) {
      const r = await execa("ip", wrap(cmd, args), { env, reject: false, timeout: 120_000 });
      return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
    },
    /** `firewall-cmd ARGS`: its output (throws on failure). */
    async cmd(...args: string[]): Promise<string> {
      const r = await sb.run("firewall-cmd", args);
      if (r.code !== 0) throw new Error(`firewall-cmd ${args.join(" ")}: exit ${r.code}: ${r.err}`);
      return r.out.trim();
    },
    /** Start the bus and firewalld; resolves once firewalld answers "running". */
    async start(): Promise<void> {
      dbus = spawn("dbus-daemon", [`--config-file=${join(dir, "bus.conf")}`, "--nofork", "--print-address"], {
        // Its stderr only says it may not raise its fd limit (not needed here).
        stdio: ["ignore", "pipe", "ignore"],
      });
      await new Promise<void>((resolve, reject) => {
        dbus!.stdout!.once("data", () => resolve());
        dbus!.once("exit", (c) => reject(new Error(`dbus-daemon exited (${c})`)));
      });
      await sb.startFirewalld();
    },
    /** Start firewalld alone (after stopFirewalld). */
    async startFirewalld(): Promise<void> {
      // `ip netns exec`, unshare and enter.sh each exec the next: the pid started is firewalld's.
      const log = join(dir, "firewalld.log");
      firewalld = spawn("ip", wrap("firewalld", ["--nofork", "--nopid", "--log-target", "file", "--log-file", log]), {
        stdio: "ignore",
      });
      const until = Date.now() + 60_000;
      while ((await sb.run("firewall-cmd", ["--state"])).out.trim() !== "running") {
        if (firewalld.exitCode !== null) throw new Error(`firewalld exited: ${readLog(log)}`);
        if (Date.now() > until) throw new Error(`firewalld did not start: ${readLog(log)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    },
    /** Stop firewalld (by its pid; it removes its own table on exit) and wait for it to go. */
    async stopFirewalld(): Promise<void> {
      await stop(firewalld);
      firewalld = null;
    },
    /** Stop firewalld and the bus, remove the temp dir. */
    async cleanup(): Promise<void> {
      await stop(firewalld);
      await stop(dbus);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sb;
}

async function stop(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await gone;
  clearTimeout(t);
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-2000);
  } catch {
    return "(no log)";
  }
}

/** The host's own firewalld files and nft ruleset, to show a test changed neither. */
export async function hostFirewalldState(): Promise<string> {
  const ls = await execa("sh", ["-c", "cd /etc/firewalld && find . -type f | sort | xargs md5sum"], { reject: false });
  const nft = await execa("nft", ["list", "ruleset"], { reject: false });
  return `${String(ls.stdout)}\n---\n${String(nft.stdout)}`;
}
