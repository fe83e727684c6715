// Carrying out a plan: each step is one process at most, batched (`ip -batch`, one `nft -f` transaction).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Step } from "../core/steps.js";
import { CommandError } from "../errors.js";
import { ensureDir } from "../host/dirs.js";
import { writeFileSafe } from "../host/write.js";
import { run, type Exec } from "../host/exec.js";
import { applyUplinkMove } from "./move-uplink.js";

/** Carry out STEPS in order; stops at the first failure (a CommandError naming the command). A failed `resolvectl`
 *  step is no failure but a line told to WARN (stderr by default). */
export function applySteps(exec: Exec, steps: Step[], warn: (line: string) => void = stderrLine): void {
  for (const s of steps) applyStep(exec, s, warn);
}

function stderrLine(line: string): void {
  process.stderr.write(`kvmnet: ${line}\n`);
}

function applyStep(exec: Exec, s: Step, warn: (line: string) => void): void {
  switch (s.kind) {
    case "ip":
      if (s.force) exec.tryRun("ip", ["-force", "-batch", "-"], s.lines.join("\n") + "\n");
      else if (s.lines.length === 1) run(exec, "ip", s.lines[0]!.split(" "));
      else run(exec, "ip", ["-batch", "-"], s.lines.join("\n") + "\n");
      return;
    case "uplink-move":
      applyUplinkMove(exec, s);
      return;
    case "nft":
      if (s.ifUnused) exec.tryRun("nft", ["-f", "-"], s.script);
      else run(exec, "nft", ["-f", "-"], s.script);
      return;
    case "iptables":
      // --wait: with legacy iptables, another network's hook may hold the xtables lock right now.
      if (s.ifUnused) exec.tryRun("iptables-restore", ["--noflush", "--wait"], s.script);
      else
        run(exec, s.variant ? `iptables-${s.variant}-restore` : "iptables-restore", ["--noflush", "--wait"], s.script);
      return;
    case "sysctl":
      writeFileSync(s.path, s.value);
      return;
    case "mkdir":
      // Root's, 0755 whatever the umask: dnsmasq reads its hostsfiles here as nobody.
      ensureDir(s.path);
      return;
    case "write":
      // A fresh temp file (never through a symlink), then renamed: a reader, or a hook killed half-way, never
      // sees half a file. 0644 whatever the umask, for dnsmasq as nobody.
      writeFileSafe(s.path, s.content, s.mode ?? 0o644);
      return;
    case "unlink":
      rmSync(s.path, { force: true });
      return;
    case "dnsmasq-start":
      // Only the start: its record needs the daemon's pid, which converge finds afterwards (converge/dnsmasq-started.ts).
      run(exec, "dnsmasq", [`--conf-file=${s.conf}`]);
      return;
    case "signal":
      signal(s.pid, s.signal);
      return;
    case "tc":
      run(exec, "tc", ["-batch", "-"], s.lines.join("\n") + "\n");
      return;
    case "conntrack-flush":
      // Exit 1 when no entry matched: nothing to flush is no failure.
      exec.tryRun("conntrack", ["-D", "-p", s.proto, "--orig-port-dst", String(s.port)]);
      return;
    case "firewall-cmd":
      run(exec, "firewall-cmd", s.args);
      return;
    case "resolvectl":
      resolvectl(exec, s.args, warn);
      return;
    case "bridge":
      if (s.force) exec.tryRun("bridge", ["-force", "-batch", "-"], s.lines.join("\n") + "\n");
      else run(exec, "bridge", ["-batch", "-"], s.lines.join("\n") + "\n");
      return;
    case "vtysh":
      run(
        exec,
        "vtysh",
        s.commands.flatMap((c) => ["-c", c]),
      );
      return;
  }
}

// systemd-resolved learns of a new link from a netlink event: a bridge made a moment ago may not be known to it
// yet ("Link N not known"), so that answer is waited out for a while. Any other failure is only warned of: the host
// resolving guest names is a convenience, and a VM must not lose its network (a hook's cold start undone) for it.
function resolvectl(exec: Exec, args: string[], warn: (line: string) => void): void {
  const until = Date.now() + 5000;
  for (;;) {
    const r = exec.tryRun("resolvectl", args);
    if (r.ok) return;
    if (!/not known/i.test(r.stderr) || Date.now() > until) {
      const why = r.stderr.trim() || (r.code === null ? "did not run" : `exit ${r.code}`);
      warn(
        `warning: resolvectl ${args.join(" ")} failed: ${why}; the host does not resolve the guests' names ` +
          `through ${args[1] ?? "the bridge"} until it works (kvmnet doctor shows it, kvmnet up tries again)`,
      );
      return;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

function signal(pid: number, sig: "SIGHUP" | "SIGTERM"): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return;
    throw e;
  }
  if (sig !== "SIGTERM") return;
  // Wait for it to go, so that a new dnsmasq can bind the same address.
  const until = Date.now() + 5000;
  while (existsSync(`/proc/${pid}`) && !isZombie(pid)) {
    if (Date.now() > until) throw new CommandError(`kill -TERM ${pid}`, null, "dnsmasq did not exit within 5 s");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}
