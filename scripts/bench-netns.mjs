// What the data-plane benchmarks (bench-dataplane.mjs, bench-acl.mjs) share: per case three namespaces (guest,
// host, outside) wired the same way, an iperf3 server in the outside one, rounds that interleave the cases (this
// machine is shared and noisy: only ratios within one run mean anything), and the cleanup of all they made.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
/** The npm programs the cases run. */
export const natup = join(root, "dist/qemu-natup.cjs");
export const kvmnet = join(root, "dist/kvmnet.cjs");

/** Run CMD ARGS to completion; its stdout (OPTS.input on its stdin). */
export const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: [opts.input ? "pipe" : "ignore", "pipe", "pipe"], ...opts });
export const inNs = (ns, args, opts) => run("ip", ["netns", "exec", ns, ...args], opts);
export const batch = (ns, lines) => run("ip", ["-n", ns, "-batch", "-"], { input: lines.join("\n") + "\n" });
export const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A benchmark's namespaces, servers and directory (under /tmp, named NAME), tagged TAG. */
export function benchLab(name, tag) {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  chmodSync(dir, 0o755); // kvmnet trusts a state_dir only if root owns it and its parents and nobody else can write
  const made = []; // namespaces created, deleted by cleanup
  const servers = []; // iperf3 servers spawned, stopped by pid in cleanup

  // Guest (192.0.2.10 behind the host's 192.0.2.1) and outside (203.0.113.2, beyond the host's uplink up0 at
  // 203.0.113.1). The outside has no route back to 192.0.2.0/24: a guest reaches it only through NAT.
  function topology(c) {
    c.ns = { g: `${tag}-${c.id}-g`, h: `${tag}-${c.id}-h`, o: `${tag}-${c.id}-o` };
    for (const ns of Object.values(c.ns)) {
      run("ip", ["netns", "add", ns]);
      made.push(ns);
    }
    batch(c.ns.h, [
      "link set lo up",
      `link add vg type veth peer name eth0 netns ${c.ns.g}`,
      `link add up0 type veth peer name eth0 netns ${c.ns.o}`,
      "addr add 203.0.113.1/24 dev up0",
      "link set up0 up",
    ]);
    batch(c.ns.g, [
      "link set lo up",
      "addr add 192.0.2.10/24 dev eth0",
      "link set eth0 up",
      "route add default via 192.0.2.1",
    ]);
    batch(c.ns.o, ["link set lo up", "addr add 203.0.113.2/24 dev eth0", "link set eth0 up"]);
  }

  // An iperf3 server in the outside namespace, its output in a file (nothing reads a pipe during a sync run).
  function startServer(c) {
    const log = join(dir, `${c.id}.iperf3-s.log`);
    const fd = openSync(log, "w");
    const args = ["netns", "exec", c.ns.o, "iperf3", "-s", "-B", "203.0.113.2", "--forceflush"];
    servers.push(spawn("ip", args, { stdio: ["ignore", fd, fd] })); // `ip netns exec` execs iperf3: the same pid
    closeSync(fd);
    const ready = () => readFileSync(log, "utf8").includes("Server listening");
    for (let i = 0; i < 100 && !ready(); i++) sleep(50);
    if (!ready()) throw new Error(`iperf3 -s in ${c.ns.o} did not start: ${readFileSync(log, "utf8")}`);
  }

  // Everything this run made: iperf3 servers by pid, any process kvmnet left a pid file for (under DIR/CASE/run),
  // the namespaces, the directory.
  function cleanup(cases) {
    for (const p of servers) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
    for (const c of cases) {
      const rd = join(dir, c.id, "run");
      for (const f of existsSync(rd) ? readdirSync(rd).filter((f) => f.endsWith(".pid")) : []) {
        const pid = Number(readFileSync(join(rd, f), "utf8").trim());
        try {
          if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) process.kill(pid, "SIGTERM");
        } catch {
          /* gone already */
        }
      }
    }
    for (const ns of made.splice(0))
      try {
        run("ip", ["netns", "del", ns]);
      } catch {
        /* already gone */
      }
    rmSync(dir, { recursive: true, force: true });
  }

  // CASES set up by SETUP (each with its own namespaces), then RUNS rounds of MEASURE(c), each case once per
  // round, the order rotated so no case always follows the same neighbour; REPORT prints; cleanup in any case.
  function main(cases, { setup, measure, runs, report }) {
    for (const sig of ["SIGINT", "SIGTERM"])
      process.on(sig, () => {
        cleanup(cases);
        process.exit(130);
      });
    const t0 = Date.now();
    try {
      for (const c of cases) {
        setup(c);
        c.results = [];
      }
      for (let r = 0; r < runs; r++)
        for (let k = 0; k < cases.length; k++) {
          const c = cases[(k + r) % cases.length];
          c.results.push(measure(c));
        }
      report();
      console.log(`\n  total ${Math.round((Date.now() - t0) / 1000)} s`);
    } finally {
      cleanup(cases);
    }
  }

  return { dir, topology, startServer, main };
}
