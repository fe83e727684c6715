// A real dockerd (Debian's docker.io) inside a test network namespace, in a private mount namespace with every
// path of its own under a temp dir (data root, exec root, pid file, socket, config; /etc/docker and /run are
// tmpfs there), so nothing of the host's Docker or files is touched. It starts its own containerd (under the exec
// root) and writes its iptables rules at start-up, no container needed. LEGACY: dockerd's PATH finds iptables as
// iptables-legacy (update-alternatives would switch the whole host). Stopped by the pid started, then any
// process left whose command line names the temp dir (its containerd), by pid.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Netns } from "../helpers/netns.js";

/** Docker's bridge in the test: docker0 with a test address (no other network of the lab uses 198.51.100.0/24). */
export const DOCKER_BIP = "198.51.100.1/24";

/** A running dockerd. */
export interface Dockerd {
  pid: number;
  dir: string;
  variant: "nft" | "legacy";
  /** DOCKER-USER's rules as iptables-save prints them, in the variant Docker uses. */
  dockerUser(): Promise<string[]>;
  /** Stop dockerd and its containerd (by pid) and remove the temp dir. */
  stop(): Promise<void>;
}

/** Start dockerd in NS; resolves once its DOCKER-USER chain exists. */
export async function startDockerd(ns: Netns, variant: "nft" | "legacy"): Promise<Dockerd> {
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-dockerd-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  if (variant === "legacy")
    for (const t of [
      "iptables",
      "iptables-save",
      "iptables-restore",
      "ip6tables",
      "ip6tables-save",
      "ip6tables-restore",
    ])
      symlinkSync(`/usr/sbin/${t.replace(/^(ip6?tables)/, "$1-legacy")}`, join(bin, t));
  writeFileSync(join(dir, "daemon.json"), "{}\n");
  const script = join(dir, "run.sh");
  writeFileSync(
    script,
    `set -e
mount --make-rprivate /
# ip netns exec mounts a fresh /sys: dockerd wants the cgroup hierarchies back.
mount -t tmpfs none /sys/fs/cgroup
for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
  mkdir /sys/fs/cgroup/$c; mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c
done
mount -t tmpfs none /run
if [ -d /etc/docker ]; then mount -t tmpfs none /etc/docker; fi
export PATH=${bin}:$PATH
exec dockerd --config-file ${dir}/daemon.json --data-root ${dir}/data --exec-root ${dir}/exec --pidfile ${dir}/pid \\
  -H unix://${dir}/sock --iptables=true --ip-forward=true --bip ${DOCKER_BIP}
`,
  );
  chmodSync(script, 0o755);
  // ip netns exec, unshare and sh all exec: the pid is dockerd's.
  const child = ns.spawn("unshare", ["-m", "sh", script]);
  let log = "";
  child.stdout?.on("data", (d) => (log += d));
  child.stderr?.on("data", (d) => (log += d));
  const dockerUser = async () =>
    (await ns.tryRun(`iptables-${variant}-save`, ["-t", "filter"])).stdout
      .split("\n")
      .filter((l) => l.startsWith("-A DOCKER-USER "));
  const declared = async () =>
    /^:DOCKER-USER /m.test((await ns.tryRun(`iptables-${variant}-save`, ["-t", "filter"])).stdout);
  const stop = async () => {
    const pid = child.pid!;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* gone */
    }
    await Promise.race([child, new Promise((r) => setTimeout(r, 20_000))]);
    // Its containerd stops with it; anything left naming our dir is stopped by pid.
    for (const p of pidsNaming(dir)) process.kill(p, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`dockerd exited: ${log.slice(-2000)}`);
    }
    if (await declared()) break;
    if (Date.now() > until) {
      await stop();
      throw new Error(`dockerd made no DOCKER-USER within 60 s: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // Its rules go in one after another: wait until the chain's content stops changing.
  let last = "";
  for (let i = 0; i < 50; i++) {
    const now = (await ns.tryRun(`iptables-${variant}-save`, [])).stdout.replace(/^#.*$/gm, "");
    if (now === last && now.includes("-A FORWARD -j DOCKER-USER")) break;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
  }
  return { pid: child.pid!, dir, variant, dockerUser, stop };
}

/** Pids of processes whose command line contains DIR. */
export function pidsNaming(dir: string): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter((p) => p !== process.pid);
}
