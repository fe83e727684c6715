// Runs one QEMU process (optionally inside a network namespace via `ip netns exec`, which execs
// QEMU in place, so the pid is QEMU's), collecting the serial console line by line with timestamps.
import { spawn } from "node:child_process";

// A console line and when it arrived, in ms since QEMU was started.
export interface ConsoleLine {
  text: string;
  atMs: number;
}

// How QEMU ended.
export interface QemuExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
}

// A running QEMU.
export interface QemuRun {
  pid: number;
  output(): string;
  lines(): ConsoleLine[];
  stderr(): string;
  waitForLine(re: RegExp, timeoutMs?: number): Promise<ConsoleLine>;
  kill(signal?: NodeJS.Signals): boolean;
  exited: Promise<QemuExit>;
}

// Options for startQemu.
export interface QemuRunOptions {
  args: string[];
  netns?: string | undefined;
  env?: Record<string, string> | undefined;
  timeoutMs: number;
  qemu?: string | undefined;
}

const live = new Set<number>();
process.once("exit", () => {
  for (const pid of live) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
});

// Starts QEMU; set KVMNET_VM_DEBUG=1 to copy the console to stderr.
export function startQemu(o: QemuRunOptions): QemuRun {
  const qemu = o.qemu ?? "qemu-system-x86_64";
  const [cmd, args] = o.netns ? ["ip", ["netns", "exec", o.netns, qemu, ...o.args]] : [qemu, o.args];
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...o.env } });
  if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
  const pid = child.pid;
  live.add(pid);
  const lines: ConsoleLine[] = [];
  const waiters: { re: RegExp; resolve: (l: ConsoleLine) => void }[] = [];
  let partial = "";
  let full = "";
  let err = "";
  let running = true;
  const debug = !!process.env.KVMNET_VM_DEBUG;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    if (debug) process.stderr.write(chunk);
    const text = chunk.replace(/\r/g, "");
    full += text;
    partial += text;
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    const atMs = performance.now() - t0;
    for (const p of parts) {
      const line = { text: p, atMs };
      lines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.re.test(p)) waiters.splice(i, 1)[0]!.resolve(line);
      }
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    if (debug) process.stderr.write(chunk);
    err += chunk;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill("SIGTERM");
    setTimeout(() => kill("SIGKILL"), 3000).unref();
  }, o.timeoutMs);
  const kill = (signal: NodeJS.Signals = "SIGTERM"): boolean => {
    if (!running) return false;
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  };
  const exited = new Promise<QemuExit>((resolve) => {
    child.on("error", (e) => {
      err += String(e);
    });
    child.on("close", (exitCode, signal) => {
      running = false;
      live.delete(pid);
      clearTimeout(timer);
      if (partial) lines.push({ text: partial, atMs: performance.now() - t0 });
      resolve({ exitCode, signal, timedOut, durationMs: performance.now() - t0 });
    });
  });
  const waitForLine = (re: RegExp, timeoutMs = o.timeoutMs): Promise<ConsoleLine> => {
    const seen = lines.find((l) => re.test(l.text));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no console line matching ${re} within ${timeoutMs} ms`)), timeoutMs);
      const done = (l: ConsoleLine) => {
        clearTimeout(t);
        resolve(l);
      };
      waiters.push({ re, resolve: done });
      void exited.then(() => {
        clearTimeout(t);
        reject(new Error(`QEMU exited before a console line matched ${re}`));
      });
    });
  };
  return { pid, output: () => full, lines: () => lines, stderr: () => err, waitForLine, kill, exited };
}
