// Test hosts: network namespaces made per test, with veth links between them, removed afterwards.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";

/** How long a helper's command may run before it is killed (a hung tool must fail its test, not block it). */
export const DEFAULT_TIMEOUT = 120_000;

/** Root of the repository. */
export const ROOT = resolve(import.meta.dirname, "../..");

/** A short random suffix for names (interface names are at most 15 characters). */
export function rid(n = 4): string {
  return randomBytes(n).toString("hex").slice(0, n);
}

/** A network namespace of this test. */
export class Netns {
  private constructor(readonly name: string) {}

  /** Make a namespace with lo up. */
  static async create(prefix = "kt"): Promise<Netns> {
    const ns = new Netns(`${prefix}-${rid(6)}`);
    await execa("ip", ["netns", "add", ns.name], { timeout: DEFAULT_TIMEOUT });
    await ns.sh("ip link set lo up");
    return ns;
  }

  /** A namespace made by someone else (the demo), to run commands in; destroy() still deletes it. */
  static attach(name: string): Netns {
    return new Netns(name);
  }

  /** Run a command inside; throws on failure. */
  run(cmd: string, args: string[], opts: { env?: Record<string, string>; input?: string; timeout?: number } = {}) {
    return execa("ip", ["netns", "exec", this.name, cmd, ...args], {
      env: opts.env,
      input: opts.input,
      timeout: opts.timeout ?? DEFAULT_TIMEOUT,
    });
  }

  /** Run a command inside and return the result whatever the exit code. */
  tryRun(cmd: string, args: string[], opts: { env?: Record<string, string>; timeout?: number } = {}) {
    return execa("ip", ["netns", "exec", this.name, cmd, ...args], {
      env: opts.env,
      reject: false,
      timeout: opts.timeout ?? DEFAULT_TIMEOUT,
    });
  }

  /** Start a command inside in the background (returns the execa child). */
  spawn(cmd: string, args: string[], opts: { env?: Record<string, string> } = {}) {
    return execa("ip", ["netns", "exec", this.name, cmd, ...args], { env: opts.env, reject: false });
  }

  /** Run a shell line inside; returns stdout. */
  async sh(line: string, timeout = DEFAULT_TIMEOUT): Promise<string> {
    return (await execa("ip", ["netns", "exec", this.name, "sh", "-c", line], { timeout })).stdout;
  }

  /** Delete the namespace (its interfaces go with it). Processes started inside must be stopped by pid first. */
  async destroy(): Promise<void> {
    await execa("ip", ["netns", "del", this.name], { reject: false, timeout: DEFAULT_TIMEOUT });
  }
}

/** Connect A and B with a veth pair named aName (in A) and bName (in B), both up. */
export async function veth(a: Netns, aName: string, b: Netns, bName: string): Promise<void> {
  const tmp = `v${rid(6)}`;
  const opts = { timeout: DEFAULT_TIMEOUT };
  await execa("ip", ["-n", a.name, "link", "add", aName, "type", "veth", "peer", "name", tmp], opts);
  await execa("ip", ["-n", a.name, "link", "set", tmp, "netns", b.name], opts);
  await execa("ip", ["-n", b.name, "link", "set", tmp, "name", bName], opts);
  await a.sh(`ip link set ${aName} up`);
  await b.sh(`ip link set ${bName} up`);
}

/** A temporary directory with a kvmnet.conf whose [global] points state and leases into it. */
export function tempConfig(
  body: string,
  global = "",
): { dir: string; file: string; stateDir: string; leaseDir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-test-"));
  // dnsmasq drops root for "nobody" and re-reads its hostsfile as that user: like /run, the dir must be 0755.
  chmodSync(dir, 0o755);
  const stateDir = join(dir, "run");
  const leaseDir = join(dir, "lib");
  const file = join(dir, "kvmnet.conf");
  writeFileSync(file, `[global]\nstate_dir = ${stateDir}\nlease_dir = ${leaseDir}\n${global}\n${body}`);
  chmodSync(file, 0o644);
  return {
    dir,
    file,
    stateDir,
    leaseDir,
    cleanup: () => {
      stopDnsmasqIn(stateDir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Stop every dnsmasq whose pid file is in STATE, and any still running with a config in STATE whose pid file
 *  was lost (found by its --conf-file in /proc): by pid, never by name. */
export function stopDnsmasqIn(stateDir: string): void {
  const pids = new Set<number>();
  if (existsSync(stateDir)) {
    for (const f of readdirSync(stateDir).filter((n) => n.endsWith(".dnsmasq.pid"))) {
      const pid = Number(readFileSync(join(stateDir, f), "utf8").trim());
      if (pid > 0) pids.add(pid);
    }
  }
  for (const p of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (/(^|\/)dnsmasq$/.test(argv[0] ?? "") && argv.some((a) => a.startsWith(`--conf-file=${stateDir}/`)))
      pids.add(Number(p));
  }
  for (const pid of pids)
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* gone */
    }
}

/** Path of a built program in dist/ (run `npm run build` first; the global setup does). */
export function program(name: string): string {
  return join(ROOT, "dist", `${name}.cjs`);
}

/** Run PROGRAM TAP inside NS with the config FILE; returns exit code, stdout, stderr. */
export async function hook(ns: Netns, name: string, tap: string, file: string, env: Record<string, string> = {}) {
  const r = await ns.tryRun(program(name), [tap], { env: { KVMNET_CONFIG: file, ...env }, timeout: 60_000 });
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}
