// Boots the tiny test guest (see initramfs.ts) on a tap device set up by a caller-supplied QEMU
// script, and parses its "KVMNET-RESULT ..." console lines.
import { randomBytes } from "node:crypto";
import { startQemu, type ConsoleLine, type QemuExit, type QemuRun } from "./qemu.js";

// What the guest should do; kernel/initrd come from buildGuestInitramfs().
export interface GuestOptions {
  kernel: string;
  initrd: string;
  tap: string;
  script: string;
  downscript?: string | undefined;
  mac?: string | undefined;
  netns?: string | undefined;
  env?: Record<string, string> | undefined;
  ip?: "dhcp" | string | undefined;
  hostname?: string | undefined;
  ping?: string[] | undefined;
  resolve?: string[] | undefined;
  wait?: number | undefined;
  tries?: number | undefined;
  append?: string[] | undefined;
  memMB?: number | undefined;
  timeoutMs?: number | undefined;
  qemuArgs?: string[] | undefined;
  /** A command QEMU runs under (e.g. setpriv ... kvmnet-qemu --): its words come before qemu-system-x86_64. */
  wrap?: string[] | undefined;
}

// One "KVMNET-RESULT kind arg... key=value..." line.
export interface ResultLine {
  kind: string;
  args: string[];
  fields: Record<string, string>;
  atMs: number;
}

// Everything known once QEMU has exited.
export interface GuestResult extends QemuExit {
  output: string;
  stderr: string;
  results: ResultLine[];
  lease?: Record<string, string> | undefined;
  pings: Record<string, boolean>;
  resolved: Record<string, string | null>;
  done: boolean;
  networkReadyMs?: number | undefined;
  networkReadyGuestS?: number | undefined;
}

// A running guest.
export interface GuestHandle {
  pid: number;
  mac: string;
  qemu: QemuRun;
  result: Promise<GuestResult>;
  output(): string;
  waitForResult(kind: string, timeoutMs?: number): Promise<ResultLine>;
  kill(signal?: NodeJS.Signals): boolean;
}

// Parses a console line; undefined unless it is a KVMNET-RESULT line.
export function parseResultLine(line: ConsoleLine): ResultLine | undefined {
  const m = /KVMNET-RESULT (.*)$/.exec(line.text);
  if (!m) return undefined;
  const args: string[] = [];
  const fields: Record<string, string> = {};
  for (const tok of m[1]!.trim().split(/\s+/)) {
    const eq = tok.indexOf("=");
    if (eq > 0) fields[tok.slice(0, eq)] = tok.slice(eq + 1);
    else args.push(tok);
  }
  return { kind: args.shift() ?? "", args, fields, atMs: line.atMs };
}

// A random locally administered unicast MAC in QEMU's 52:54:00 prefix.
export function randomMac(): string {
  return "52:54:00:" + [...randomBytes(3)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

// The kernel command line for the given options (checked against the 2048-byte limit).
export function guestCmdline(
  o: Pick<GuestOptions, "ip" | "hostname" | "ping" | "resolve" | "wait" | "tries" | "append">,
): string {
  const words = ["console=ttyS0", "quiet", "panic=-1"];
  const add = (k: string, v: string | number | undefined) => {
    if (v === undefined || v === "") return;
    if (/[\s"]/.test(String(v))) throw new Error(`kvmnet.${k}: no whitespace or quotes allowed: ${v}`);
    words.push(`kvmnet.${k}=${v}`);
  };
  add("ip", o.ip);
  add("hostname", o.hostname);
  add("ping", o.ping?.join(","));
  add("resolve", o.resolve?.join(","));
  add("wait", o.wait);
  add("tries", o.tries);
  words.push(...(o.append ?? []));
  const line = words.join(" ");
  if (line.length > 2000) throw new Error(`kernel command line too long (${line.length} bytes)`);
  return line;
}

function summarise(exit: QemuExit, run: QemuRun): GuestResult {
  const results = run
    .lines()
    .map(parseResultLine)
    .filter((r): r is ResultLine => !!r);
  const pings: Record<string, boolean> = {};
  const resolved: Record<string, string | null> = {};
  let lease: ResultLine | undefined;
  for (const r of results) {
    if (r.kind === "ping" && r.args[0]) pings[r.args[0]] = r.args[1] === "ok";
    if (r.kind === "resolve" && r.args[0]) resolved[r.args[0]] = r.args[1] === "fail" ? null : (r.args[1] ?? null);
    if ((r.kind === "lease" || r.kind === "static") && r.args[0] !== "fail") lease ??= r;
  }
  return {
    ...exit,
    output: run.output(),
    stderr: run.stderr(),
    results,
    lease: lease?.fields,
    pings,
    resolved,
    done: results.some((r) => r.kind === "done"),
    networkReadyMs: lease?.atMs,
    networkReadyGuestS: lease?.fields.t !== undefined ? Number(lease.fields.t) : undefined,
  };
}

// Starts the guest: QEMU (TCG) with a virtio-net NIC on tap `tap`, created by QEMU and handed to `script`.
export function bootGuest(o: GuestOptions): GuestHandle {
  const mac = o.mac ?? randomMac();
  for (const p of [o.tap, o.script, o.downscript ?? "no"]) {
    if (p.includes(",")) throw new Error(`QEMU -netdev values must not contain commas: ${p}`);
  }
  const args = [
    "-accel",
    "tcg",
    "-m",
    String(o.memMB ?? 256),
    "-nographic",
    "-no-reboot",
    "-kernel",
    o.kernel,
    "-initrd",
    o.initrd,
    "-append",
    guestCmdline(o),
    "-netdev",
    `tap,id=n0,ifname=${o.tap},script=${o.script},downscript=${o.downscript ?? "no"}`,
    "-device",
    `virtio-net-pci,netdev=n0,mac=${mac}`,
    ...(o.qemuArgs ?? []),
  ];
  const run = o.wrap
    ? startQemu({
        args: [...o.wrap.slice(1), "qemu-system-x86_64", ...args],
        qemu: o.wrap[0],
        netns: o.netns,
        env: o.env,
        timeoutMs: o.timeoutMs ?? 120_000,
      })
    : startQemu({ args, netns: o.netns, env: o.env, timeoutMs: o.timeoutMs ?? 120_000 });
  const result = run.exited.then((exit) => summarise(exit, run));
  const waitForResult = async (kind: string, timeoutMs?: number): Promise<ResultLine> => {
    const line = await run.waitForLine(new RegExp(`KVMNET-RESULT ${kind}( |$)`), timeoutMs);
    return parseResultLine(line)!;
  };
  return { pid: run.pid, mac, qemu: run, result, output: run.output, waitForResult, kill: run.kill };
}
