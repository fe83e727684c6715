// Boots real QEMU guests (TCG, Debian kernel, busybox initramfs) on a bridge in a namespace of our own.
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCacheDir } from "./initrd.js";
import { bootGuest, buildGuestInitramfs, type GuestResult } from "./initramfs.js";
import { makeBridgeNetns, type BridgeNetns } from "./netns.js";

const canRun = process.getuid?.() === 0 && existsSync("/usr/bin/qemu-system-x86_64") && existsSync("/dev/net/tun");

function explain(r: GuestResult): string {
  return `exit=${r.exitCode} signal=${r.signal} timedOut=${r.timedOut}\n--- console ---\n${r.output}\n--- stderr ---\n${r.stderr}`;
}

describe.skipIf(!canRun)("test guest on a bridge", () => {
  let boot: { kernel: string; initrd: string };
  let net: BridgeNetns;

  beforeAll(async () => {
    boot = await buildGuestInitramfs(defaultCacheDir());
    net = await makeBridgeNetns({
      address: "192.0.2.1/24",
      dhcpRange: "192.0.2.100,192.0.2.150",
      hostRecords: { "gw.kvmnet.test": "192.0.2.1" },
    });
  }, 60_000);

  afterAll(async () => {
    await net?.cleanup();
  });

  it("gets a DHCP lease from dnsmasq, pings the bridge and resolves a name", async () => {
    const g = bootGuest({
      ...boot,
      netns: net.ns,
      tap: "vmt-dhcp",
      script: net.ifup,
      downscript: net.ifdown,
      env: { KVMNET_CONFIG: "dhcp-test" },
      ip: "dhcp",
      hostname: "guest-dhcp",
      ping: ["192.0.2.1"],
      resolve: ["gw.kvmnet.test"],
      timeoutMs: 150_000,
    });
    const r = await g.result;
    expect(r.done, explain(r)).toBe(true);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.lease?.ip, explain(r)).toMatch(/^192\.0\.2\.(1[0-4]\d|150)\/24$/);
    expect(r.lease?.router).toBe("192.0.2.1");
    expect(r.lease?.dns).toBe("192.0.2.1");
    expect(r.pings).toEqual({ "192.0.2.1": true });
    expect(r.resolved).toEqual({ "gw.kvmnet.test": "192.0.2.1" });
    // dnsmasq saw the hostname the guest sent, and QEMU's environment reached the up/down scripts.
    expect(readFileSync(`${net.dir}/leases`, "utf8")).toContain(`${g.mac} ${r.lease!.ip!.split("/")[0]} guest-dhcp`);
    const hooks = readFileSync(`${net.dir}/hook.log`, "utf8");
    expect(hooks).toContain("up vmt-dhcp dhcp-test\n");
    expect(hooks).toContain("down vmt-dhcp\n");
    console.log(
      `dhcp guest: network ready ${Math.round(r.networkReadyMs!)} ms after QEMU start ` +
        `(guest uptime ${r.networkReadyGuestS} s), QEMU ran ${Math.round(r.durationMs)} ms`,
    );
  }, 180_000);

  it("with a static address pings the bridge", async () => {
    const g = bootGuest({
      ...boot,
      netns: net.ns,
      tap: "vmt-static",
      script: net.ifup,
      downscript: net.ifdown,
      ip: "192.0.2.10/24,gw=192.0.2.1",
      ping: ["192.0.2.1"],
      timeoutMs: 150_000,
    });
    const r = await g.result;
    expect(r.done, explain(r)).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(r.lease).toMatchObject({ ip: "192.0.2.10/24", router: "192.0.2.1" });
    expect(r.pings, explain(r)).toEqual({ "192.0.2.1": true });
    expect(r.results.find((l) => l.kind === "mac")?.args[0]).toBe(g.mac);
    console.log(
      `static guest: network ready ${Math.round(r.networkReadyMs!)} ms after QEMU start, ` +
        `QEMU ran ${Math.round(r.durationMs)} ms`,
    );
  }, 180_000);

  it("two guests talk to each other while one waits (kvmnet.wait), and kill() stops a guest", async () => {
    const a = bootGuest({
      ...boot,
      netns: net.ns,
      tap: "vmt-a",
      script: net.ifup,
      downscript: net.ifdown,
      ip: "192.0.2.20/24",
      wait: 600,
      timeoutMs: 300_000,
    });
    try {
      await a.waitForResult("static", 150_000);
      const b = bootGuest({
        ...boot,
        netns: net.ns,
        tap: "vmt-b",
        script: net.ifup,
        downscript: net.ifdown,
        ip: "192.0.2.21/24",
        ping: ["192.0.2.20"],
        timeoutMs: 150_000,
      });
      const rb = await b.result;
      expect(rb.pings, explain(rb)).toEqual({ "192.0.2.20": true });
    } finally {
      a.kill();
    }
    // QEMU exits 0 on SIGTERM (and runs the downscript): `done` tells whether the guest finished.
    const ra = await a.result;
    expect(ra.done).toBe(false);
    expect(ra.timedOut).toBe(false);
    expect(readFileSync(`${net.dir}/hook.log`, "utf8")).toContain("down vmt-a\n");
  }, 330_000);
});
