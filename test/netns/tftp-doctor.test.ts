// kvmnet doctor and network boot, in a host namespace: another TFTP server on port 69 of the bridge address is a
// finding with its fix, and once it is gone kvmnet's dnsmasq serves TFTP there and doctor is content.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Netns, program, rid, tempConfig } from "../helpers/netns.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function kvmnet(ns: Netns, file: string, args: string[]) {
  const r = await ns.tryRun(process.execPath, [program("kvmnet"), ...args], {
    env: { KVMNET_CONFIG: file },
    timeout: 60_000,
  });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

describe("doctor and network boot", () => {
  it("finds another server on udp port 69 of the bridge address, and is content without it", async () => {
    const ns = await Netns.create("kdoc");
    cleanups.push(async () => await ns.destroy());
    await ns.sh("echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables; echo 1 > /proc/sys/net/ipv4/ip_forward");
    const br = `kvt${rid()}`;
    const c = tempConfig(
      `[lab]\nmode = nat\nbridge = ${br}\naddress = 203.0.113.1/24\ndhcp_range = 203.0.113.100,203.0.113.150\n` +
        "tftp_root = ROOT\nboot_file = boot.bin\n",
    );
    cleanups.push(c.cleanup);
    const root = join(c.dir, "tftp");
    mkdirSync(root, { mode: 0o755 });
    writeFileSync(join(root, "boot.bin"), "x", { mode: 0o644 });
    const { readFileSync } = await import("node:fs");
    writeFileSync(c.file, readFileSync(c.file, "utf8").replace("ROOT", root));
    await ns.sh(`ip link add ${br} type bridge && ip addr add 203.0.113.1/24 dev ${br} && ip link set ${br} up`);
    const stray = ns.spawn(process.execPath, [
      "-e",
      "require('dgram').createSocket('udp4').bind(69,'203.0.113.1',()=>console.log('ready'))",
    ]);
    cleanups.push(async () => {
      try {
        process.kill(stray.pid!, "SIGTERM");
      } catch {
        /* gone */
      }
      await stray;
    });
    await new Promise<void>((resolve) => stray.stdout!.once("data", () => resolve()));

    const d = await kvmnet(ns, c.file, ["doctor", "--json"]);
    const tftp = (JSON.parse(d.out).checks as { id: string; level: string; message: string; fix?: string }[]).filter(
      (x) => x.id === "tftp",
    );
    expect(d.code).toBe(1);
    expect(tftp).toHaveLength(1);
    expect(tftp[0]).toMatchObject({ level: "fail" });
    expect(tftp[0]!.message).toContain(`udp port 69 on 203.0.113.1 is held by node (pid ${stray.pid})`);
    expect(tftp[0]!.fix).toMatch(/boot_server/);

    process.kill(stray.pid!, "SIGTERM");
    await stray;
    const up = await kvmnet(ns, c.file, ["up", "lab"]);
    expect(up.code, up.err).toBe(0);
    const after = await kvmnet(ns, c.file, ["doctor", "--json"]);
    const checks = JSON.parse(after.out).checks as { id: string; level: string; message: string }[];
    expect(checks.filter((x) => x.id === "tftp")).toEqual([
      { id: "tftp", level: "ok", message: expect.stringContaining("port 69 on 203.0.113.1 free") },
    ]);
    expect(await ns.sh("ss -Hlnup")).toMatch(/203\.0\.113\.1%?\S*:69\b.*dnsmasq|:69\b.*dnsmasq/);
  });
});
