// Upgrades from the first release (kvmnet 0.1, built from its commit: test/helpers/first-release.ts) with a guest
// running: 0.1's qemu-natup made the network (table ip kvmnet-NET, a dnsmasq with no record of its bridge), then
// this version's status, doctor and up take it over; and a downgrade to 0.1 and back.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureFirstRelease } from "../helpers/first-release.js";
import { makeLab, OUTSIDE, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

let old: string;
beforeAll(async () => {
  old = await ensureFirstRelease();
}, 300_000);

let lab: Lab;
afterEach(async () => {
  await lab?.destroy();
});

/** Run this version's kvmnet ARGS in the lab's host namespace. */
async function kvmnet(...args: string[]) {
  const r = await execa("ip", ["netns", "exec", lab.host.name, program("kvmnet"), ...args], {
    env: { KVMNET_CONFIG: lab.conf.file },
    reject: false,
    timeout: 60_000,
  });
  return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}`, stdout: String(r.stdout) };
}

/** Run the first release's hook PROGRAM for TAP in the lab's host namespace. */
async function oldHook(name: string, tap: string) {
  const r = await execa("ip", ["netns", "exec", lab.host.name, join(old, `${name}.cjs`), tap], {
    env: { KVMNET_CONFIG: lab.conf.file },
    reject: false,
    timeout: 60_000,
  });
  return { code: r.exitCode, stderr: String(r.stderr) };
}

const status = async () => JSON.parse((await kvmnet("status", "nat0", "--json")).stdout).networks[0];
const tables = async () => (await lab.host.sh("nft list tables")).split("\n").filter((l) => /kvmnet/.test(l));

/** True when 0.1's layout of nat0 is there: its nft table, or its chains jumped from the built-in chains. */
async function oldLayout(firewall: "nftables" | "iptables"): Promise<boolean> {
  if (firewall === "nftables") return (await tables()).includes("table ip kvmnet-nat0");
  const builtins = await lab.host.sh("iptables -S INPUT; iptables -S FORWARD; iptables -t nat -S POSTROUTING");
  return /-j KVMNET-(INP|FWI|FWO|PRT)-nat0/.test(builtins);
}

describe.each(["nftables", "iptables"] as const)("upgrade from kvmnet 0.1 (%s)", (firewall) => {
  it("status and doctor see 0.1's network as working; up replaces its rules; the guest keeps lease and pings", async () => {
    lab = await makeLab({ firewall });
    const g = await lab.addGuest("vm0");
    const first = await oldHook("qemu-natup", "vm0");
    expect(first.code, first.stderr).toBe(0);
    const lease = await lab.dhcp(g);
    expect(lease?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    // What 0.1 leaves: its own table or chains, and no record of the bridge its dnsmasq serves.
    expect(await oldLayout(firewall)).toBe(true);
    expect(existsSync(`${lab.conf.stateDir}/nat0.dnsmasq.ifindex`)).toBe(false);
    const ping = g.spawn("busybox", ["ping", "-i", "0.05", OUTSIDE]);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const before = await status();
      // Each claim on its own (expect.soft): the firewall, dnsmasq and doctor were each wrong before.
      expect.soft(before.firewall.state).toBe("old-layout");
      expect.soft(before.dnsmasq.state).not.toBe("stale");
      expect(before.pending).toBeGreaterThan(0);
      const text = (await kvmnet("status", "nat0")).out;
      expect.soft(text).toContain("old layout (kvmnet 0.1), replaced on the next up");
      expect.soft(text).not.toMatch(/stale|ifindex \?/);
      const doctor = await kvmnet("doctor", "--json");
      const dnsmasq = JSON.parse(doctor.stdout).checks.filter((c: { id: string }) => c.id === "dnsmasq");
      expect.soft(dnsmasq).toEqual([expect.objectContaining({ level: "ok", networks: ["nat0"] })]);

      const up = await kvmnet("up", "nat0");
      expect(up.code, up.out).toBe(0);
      expect(await oldLayout(firewall)).toBe(false);
      expect(await tables()).toEqual(firewall === "nftables" ? ["table inet kvmnet"] : []);
      const after = await status();
      expect(after).toMatchObject({ pending: 0, firewall: { state: "in-place" }, dnsmasq: { state: "running" } });
      expect((await kvmnet("status", "nat0")).out).toContain("up, as configured");
      // The guest renews the same address from the new dnsmasq, and still reaches the outside.
      expect((await lab.dhcp(g))?.ip).toBe(lease!.ip);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      ping.kill("SIGTERM");
    }
    // Every echo from the first to the last came back: no sequence number is missing in between.
    const seqs = [...String((await ping).stdout).matchAll(/seq=(\d+) /g)].map((m) => Number(m[1]));
    expect(seqs.length).toBeGreaterThan(20);
    const missing = seqs.length
      ? Array.from({ length: Math.max(...seqs) + 1 }, (_, i) => i).filter((i) => !seqs.includes(i))
      : [];
    expect(missing).toEqual([]);
  }, 120_000);
});

describe("downgrade to kvmnet 0.1 and back (nftables)", () => {
  it("a downgrade to 0.1 and back: 0.1's table made again beside inet kvmnet is pending, and up removes it", async () => {
    lab = await makeLab({ firewall: "nftables" });
    const g = await lab.addGuest("vm0");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    expect(await lab.dhcp(g)).not.toBeNull();
    // The downgrade: 0.1's hook starts a VM on the network this version made.
    await lab.addGuest("vm1");
    const down = await oldHook("qemu-natup", "vm1");
    expect(down.code, down.stderr).toBe(0);
    expect((await tables()).sort()).toEqual(["table inet kvmnet", "table ip kvmnet-nat0"]);
    // And back.
    const st = await status();
    expect.soft(st.pending).toBeGreaterThan(0);
    expect.soft(st.firewall.state).toBe("old-layout");
    const up = await kvmnet("up", "nat0");
    expect(up.code, up.out).toBe(0);
    expect(await tables()).toEqual(["table inet kvmnet"]);
    expect(await status()).toMatchObject({ pending: 0, firewall: { state: "in-place" } });
    expect(await lab.ping(g, OUTSIDE)).toBe(true);
  }, 120_000);
});
