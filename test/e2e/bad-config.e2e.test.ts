// Bad configuration end to end: QEMU runs the installed hook, the hook refuses (exit 2, nothing changed),
// QEMU refuses to start the VM, and kvmnet's own message is in QEMU's output for the user to read.
import { chmodSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Netns, tempConfig } from "../helpers/netns.js";
import { nsState } from "../netns/models-lab.js";
import { boot, stopAll, CASE_TIMEOUT, explain, inTurn, prepare, type E2E } from "./guests.js";

let e: E2E;
const cleanups: (() => void)[] = [];
beforeAll(async () => {
  e = await prepare();
}, CASE_TIMEOUT);
afterEach(async () => {
  await stopAll();
  while (cleanups.length) cleanups.pop()!();
});

interface Case {
  what: string;
  up: string;
  body: string;
  mode?: number;
  /** kvmnet's message, given the config file's path. */
  message: (file: string) => string;
}

const cases: Case[] = [
  {
    // tempConfig writes 4 lines of [global] first: the address is on line 8.
    what: "a bad value (file, line, key)",
    up: "qemu-natup",
    body: "[nat0]\nmode = nat\nbridge = kvbad0\naddress = 192.0.2.1/33\n",
    message: (f) =>
      `qemu-natup: ${f}:8: address: "192.0.2.1/33" is not an IPv4 address with a prefix, such as 192.0.2.1/24`,
  },
  {
    what: "no network the program serves",
    up: "qemu-natup",
    body: "[iso]\nmode = isolated\nbridge = kvbad1\n",
    message: (f) => `qemu-natup: ${f} has no network that qemu-natup serves (mode nat); networks: iso`,
  },
  {
    what: "a config file others may write",
    up: "qemu-ifup-isolated",
    body: "[iso]\nmode = isolated\nbridge = kvbad2\n",
    mode: 0o666,
    message: (f) => `qemu-ifup-isolated: ${f}: writable by group or others (mode 0666): run chmod go-w ${f}`,
  },
];

describe.each(cases)("bad config: $what", (c) => {
  it(
    "QEMU refuses to start, shows kvmnet's message; nothing changed on the host",
    () =>
      inTurn(async () => {
        const host = await Netns.create("ke");
        cleanups.push(async () => await host.destroy());
        const conf = tempConfig(c.body);
        cleanups.push(conf.cleanup);
        if (c.mode !== undefined) chmodSync(conf.file, c.mode);
        const before = await nsState(host, conf.stateDir);
        const r = await boot(e, host, {
          up: c.up,
          down: "qemu-ifdown",
          config: conf.file,
          tap: "vm0",
          ip: "dhcp",
          timeoutMs: 60_000,
        }).result;
        expect(r.exitCode, explain(r)).not.toBe(0);
        expect(r.timedOut).toBe(false);
        // The guest never ran: no line from its init at all.
        expect(r.results, explain(r)).toEqual([]);
        expect(r.stderr).toContain(c.message(conf.file) + "\n");
        // QEMU's own line: the script's exit status 2 as wait() reports it (2 << 8).
        expect(r.stderr).toMatch(new RegExp(`network script \\S*/bin/${c.up} failed with status 512`));
        expect(await nsState(host, conf.stateDir)).toBe(before);
      }),
    CASE_TIMEOUT,
  );
});
