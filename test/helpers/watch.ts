// `kvmnet watch --verbose` in a lab's host namespace, for the tests that run one: start it (once it waits for
// changes), stop it (SIGTERM: exit 0, its monitors gone with it), and wait for what it does.
import { readdirSync, readFileSync } from "node:fs";
import { expect } from "vitest";
import type { Lab } from "./lab.js";
import { program } from "./netns.js";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The processes whose parent is PID. */
export function children(pid: number): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return /^\S+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${d}/stat`, "utf8"))?.[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Milliseconds until CHECK holds (polled every 5 ms), or -1 after MS. */
export async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) return -1;
    await sleep(5);
  }
  return Date.now() - t0;
}

/** `kvmnet watch --verbose` in a lab's host namespace (ENV added to its environment; KVMNET: the program, dist's
 *  by default): its output so far, and how to stop it. */
export async function startWatch(
  lab: Pick<Lab, "host" | "conf">,
  env: Record<string, string> = {},
  kvmnet = program("kvmnet"),
) {
  const child = lab.host.spawn(kvmnet, ["watch", "--verbose"], {
    env: { KVMNET_CONFIG: lab.conf.file, ...env },
  });
  const w = {
    log: "",
    child,
    count: (re: RegExp) => w.log.match(new RegExp(re, "g"))?.length ?? 0,
  };
  child.stdout!.on("data", (d: Buffer) => (w.log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (w.log += d.toString()));
  expect(await until(() => w.log.includes("waiting for changes"), 15_000), w.log).toBeGreaterThanOrEqual(0);
  return w;
}

// Stop W with SIGTERM: it exits 0 and its monitors (nft monitor, ip monitor) are gone with it. GROUP: the monitors
// get it too, at the same time (a Ctrl-C in a terminal, systemd's default KillMode).
export async function stopWatch(w: Awaited<ReturnType<typeof startWatch>>, group = false) {
  // Its monitors (a pass running now may have a short-lived nft or flock child beside them).
  const kids = children(w.child.pid!);
  const cmd = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      return ""; // a short-lived child of a pass that ended since it was listed
    }
  };
  expect(
    kids
      .map(cmd)
      .filter((c) => / monitor/.test(c))
      .sort(),
    w.log,
  ).toEqual(["ip monitor link", "nft monitor"]);
  if (group)
    for (const k of kids) {
      try {
        process.kill(k, "SIGTERM");
      } catch {
        // a short-lived child of a pass (nft, flock) that ended meanwhile
      }
    }
  w.child.kill("SIGTERM");
  const r = await w.child;
  expect(r.exitCode, w.log).toBe(0);
  for (const k of kids) expect(() => readFileSync(`/proc/${k}/stat`)).toThrow();
}
