// Real QEMU guests for the e2e cases: booted inside a lab's "host" namespace with the installed kvmnet
// programs as QEMU's script=/downscript=, one case at a time across test files (at most two QEMUs run),
// and a record of "network ready" per guest (QEMU start to the guest's lease) for the summary table.
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { defaultCacheDir } from "../vm/initrd.js";
import {
  bootGuest,
  buildGuestInitramfs,
  type GuestHandle,
  type GuestOptions,
  type GuestResult,
} from "../vm/initramfs.js";
import type { Netns } from "../helpers/netns.js";
import { INSTALL_CACHE, installPacked, type Installed } from "./install.js";

/** Per-case time limit: QEMU under TCG boots in ~5 s, but a case may wait for another file's case. */
export const CASE_TIMEOUT = 600_000;

/** How many DHCPDISCOVERs the guest's udhcpc sent before its lease (the guest reports it), or null. One is what a
 *  ready network gives; each resend (after 1 s, -T 1) means one went unanswered: a port still in STP
 *  listening/learning, a lost packet. The exchange's time is a figure: printed here, and in `npm run bench`. */
export function discovers(r: GuestResult): number | null {
  const n = r.results.find((l) => l.kind === "dhcp")?.fields.discovers;
  return n === undefined ? null : Number(n);
}

/** Kernel, initrd and the installed programs, ready for boot(). */
export interface E2E {
  kernel: string;
  initrd: string;
  installed: Installed;
}

/** Build (or reuse) the guest image and the npm install. */
export async function prepare(): Promise<E2E> {
  const [boot, installed] = await Promise.all([buildGuestInitramfs(defaultCacheDir()), installPacked()]);
  return { kernel: boot.kernel, initrd: boot.initrd, installed };
}

/** What a guest in a lab needs beyond GuestOptions' checks. */
export interface LabGuest extends Omit<GuestOptions, "kernel" | "initrd" | "script" | "downscript" | "netns" | "env"> {
  /** Installed program name, or an absolute path. */
  up: string;
  down: string;
  config: string;
  /** IP:PORT to connect to and print the first line from (kvmnet.fetch). */
  fetch?: string[];
  /** Ping these every 0.2 s for SECS, all at once (kvmnet.watch). */
  watch?: { targets: string[]; secs: number };
}

/** Boot a guest in HOST whose tap is brought up by the installed program UP (and down by DOWN; "no" for none); an
 *  absolute path (or "no" for DOWN) is used as it is, for control guests attached without kvmnet. */
export function boot(e: E2E, host: Netns, g: LabGuest): GuestHandle {
  const { up, down, config, fetch, watch, ...rest } = g;
  const append = [...(rest.append ?? [])];
  if (fetch) append.push(`kvmnet.fetch=${fetch.join(",")}`);
  if (watch) append.push(`kvmnet.watch=${watch.targets.join(",")}`, `kvmnet.watchsecs=${watch.secs}`);
  const handle = bootGuest({
    ...rest,
    append,
    kernel: e.kernel,
    initrd: e.initrd,
    netns: host.name,
    script: up.startsWith("/") || up === "no" ? up : e.installed.bin(up),
    downscript: down.startsWith("/") || down === "no" ? down : e.installed.bin(down),
    env: { KVMNET_CONFIG: config },
    tries: g.tries ?? 3,
    timeoutMs: g.timeoutMs ?? 180_000,
  });
  running.add(handle);
  void handle.result.then(() => running.delete(handle));
  return handle;
}

const running = new Set<GuestHandle>();

/** Stop every guest boot() started that is still running, and wait for their QEMUs (and downscripts). */
export async function stopAll(): Promise<void> {
  const left = [...running];
  for (const g of left) g.kill();
  await Promise.all(left.map((g) => g.result));
}

/** Console and stderr of a guest, for assertion messages. */
export function explain(r: GuestResult): string {
  return `exit=${r.exitCode} signal=${r.signal} timedOut=${r.timedOut}\n--- console ---\n${r.output}\n--- stderr ---\n${r.stderr}`;
}

/** The value of a "fetch IP:PORT LINE" result. */
export function fetched(r: GuestResult, target: string): string | undefined {
  return r.results.find((l) => l.kind === "fetch" && l.args[0] === target)?.args[1];
}

/** sent/received of a "watch IP" result. */
export function watched(r: GuestResult, ip: string): { sent: number; received: number } | undefined {
  const l = r.results.find((x) => x.kind === "watch" && x.args[0] === ip);
  return l ? { sent: Number(l.fields.sent), received: Number(l.fields.received) } : undefined;
}

/** One row of the network-ready table. */
export interface ReadyRow {
  case: string;
  guest: string;
  readyMs: number;
  dhcpMs: number | null;
  /** QEMU start to the guest's clock starting: QEMU's set-up, including the up script (kvmnet's hook). */
  hostMs: number;
  /** The guest's uptime at the lease: kernel boot, init, DHCP. */
  guestMs: number;
  bootMs: number;
}

const rows: ReadyRow[] = [];

/** Record guest GUEST of case CASE: QEMU start to lease, and the guest's own DHCP exchange (uptime at the
 *  lease minus uptime when eth0 appeared, just before udhcpc starts). */
export function record(kase: string, guest: string, r: GuestResult): ReadyRow {
  const mac = r.results.find((l) => l.kind === "mac")?.fields.t;
  const leaseT = r.networkReadyGuestS;
  const row: ReadyRow = {
    case: kase,
    guest,
    readyMs: Math.round(r.networkReadyMs ?? NaN),
    dhcpMs:
      r.lease?.server !== undefined && mac !== undefined && leaseT !== undefined
        ? Math.round((leaseT - Number(mac)) * 1000)
        : null,
    hostMs: Math.round((r.networkReadyMs ?? NaN) - (leaseT ?? NaN) * 1000),
    guestMs: Math.round((leaseT ?? NaN) * 1000),
    bootMs: Math.round(r.durationMs),
  };
  rows.push(row);
  if (process.env.KVMNET_E2E_TIMES) appendFileSync(process.env.KVMNET_E2E_TIMES, JSON.stringify(row) + "\n");
  return row;
}

/** The rows recorded in this file. */
export function recorded(): ReadyRow[] {
  return rows;
}

/** ROWS as a text table. */
export function table(list: ReadyRow[]): string {
  const head = [
    "case",
    "guest",
    "network ready",
    "= QEMU start to guest start",
    "+ guest uptime at lease",
    "of which DHCP",
    "QEMU ran",
  ];
  const ms = (n: number | null) => (n === null ? "static" : `${n} ms`);
  const body = list.map((r) => [
    r.case,
    r.guest,
    ms(r.readyMs),
    ms(r.hostMs),
    ms(r.guestMs),
    ms(r.dhcpMs),
    ms(r.bootMs),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(width[i]!)).join(" | ") + " |";
  return [line(head), "|" + width.map((w) => "-".repeat(w + 2)).join("|") + "|", ...body.map(line)].join("\n");
}

/** Run FN while holding the e2e QEMU turn: one case at a time across test files and workers. */
export async function inTurn<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(INSTALL_CACHE, { recursive: true });
  const path = join(INSTALL_CACHE, ".qemu-turn");
  for (;;) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      // The holder's pid is in the file: a turn whose process is gone is free.
      try {
        process.kill(Number(readFileSync(path, "utf8")), 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ESRCH")
          try {
            unlinkSync(path);
          } catch {
            /* taken meanwhile */
          }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    unlinkSync(path);
  }
}

/** What an e2e file shares: the guest image and the install, prepared once (E, set once beforeAll ran); after each
 *  case its guests stopped and its LAB destroyed; after all, the "network ready" table under TITLE. */
export function e2eFile<L extends { destroy(): Promise<void> }>(title: string): { e: E2E; lab: L | undefined } {
  const f = { e: undefined as unknown as E2E, lab: undefined as L | undefined };
  beforeAll(async () => {
    f.e = await prepare();
  }, CASE_TIMEOUT);
  afterEach(async () => {
    await stopAll();
    await f.lab?.destroy();
    f.lab = undefined;
  });
  afterAll(() => console.log(`network ready, ${title}:\n${table(recorded())}`));
  return f;
}
