// guard = yes after a flush (issue 18, section 2): what the guard needs (which tap has which MAC, the addresses
// leases gave) is kept in state_dir, so `kvmnet reapply`, `kvmnet up` and `kvmnet watch` rebuild `table bridge
// kvmnet` with its per-tap chains and learned pairs, and status and plan count a missing guard as pending. Each
// time, a forged frame reaches the victim while the guard is gone (the control) and is blocked once it is back.
import { execa } from "execa";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ATT, counter, ether, ipv4, nsh, attachGuests, sendFrames, until, VIC } from "../helpers/guard.js";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program, type Netns } from "../helpers/netns.js";

const ECHO = "0800a5a8424200010102030405060708"; // an ICMP echo request, checksum filled in

describe("guard = yes: rebuilt from state_dir after a flush", () => {
  let lab: Lab;
  let att: Netns;
  let vic: Netns;
  let attIp = "";
  let vicIp = "";
  const kvmnet = (...args: string[]) =>
    execa("ip", ["netns", "exec", lab.host.name, program("kvmnet"), ...args], {
      env: { KVMNET_CONFIG: lab.conf.file },
      reject: false,
      timeout: 60_000,
    });
  const table = async () =>
    (await execa("ip", ["netns", "exec", lab.host.name, "nft", "list", "table", "bridge", "kvmnet"], { reject: false }))
      .stdout;
  // The guard as the hooks and lease events made it: both taps' chains and map elements, both leases learned.
  const whole = async () => {
    const t = await table();
    return [
      t.includes("chain guard-vm0 {"),
      t.includes("chain guard-vm1 {"),
      t.includes('"vm0" : jump guard-vm0'),
      t.includes('"vm1" : jump guard-vm1'),
      t.includes(`${ATT} . ${attIp}`),
      t.includes(`${VIC} . ${vicIp}`),
    ].every(Boolean);
  };
  // Whether a frame from the attacker with a forged IPv4 source reaches the victim's stack.
  const forgedArrives = async () => {
    const got = await counter(vic, "ip saddr 192.0.2.77");
    await sendFrames(att, [ether(VIC, ATT, "0800", ipv4("192.0.2.77", vicIp, 1, ECHO))]);
    return (await got()) > 0;
  };
  // Both leases are in the lease record.
  const recorded = () => {
    const f = `${lab.conf.stateDir}/nat0.guard-leases`;
    const t = existsSync(f) ? readFileSync(f, "utf8") : "";
    return t.includes(`${ATT} ${attIp}\n`) && t.includes(`${VIC} ${vicIp}\n`);
  };
  const pending = async () =>
    JSON.parse((await kvmnet("status", "nat0", "--json")).stdout).networks[0].pending as number;

  beforeAll(async () => {
    lab = await makeLab({ section: (br) => natSection(br, "guard = yes\n") });
    [att, vic] = (await attachGuests(lab, [
      ["vm0", ATT],
      ["vm1", VIC],
    ])) as [Netns, Netns];
    attIp = (await lab.dhcp(att))?.ip ?? "";
    vicIp = (await lab.dhcp(vic))?.ip ?? "";
    expect(vicIp).toMatch(/^192\.0\.2\.1\d\d$/);
  }, 120_000);
  afterAll(async () => await lab?.destroy());

  it("the hooks record each tap's MAC and the lease events each learned address, in state_dir", async () => {
    const st = lab.conf.stateDir;
    expect(readFileSync(`${st}/nat0.guard-taps`, "utf8")).toBe(`vm0 ${ATT}\nvm1 ${VIC}\n`);
    // The lease event runs just after the DHCPACK: wait for it.
    expect(await until(async () => recorded(), 10_000)).toBe(true);
    expect(await whole()).toBe(true);
    expect(await forgedArrives()).toBe(false);
    expect(await pending()).toBe(0);
  });

  it("nft flush ruleset, then kvmnet reapply: the chains and learned pairs are back, the forged frame blocked again", async () => {
    await nsh(lab.host, "nft flush ruleset");
    expect(await forgedArrives()).toBe(true);
    const r = await kvmnet("reapply");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await whole()).toBe(true);
    expect(await forgedArrives()).toBe(false);
    expect(await lab.ping(vic, "192.0.2.1")).toBe(true);
    expect(await lab.ping(att, vicIp)).toBe(true);
  });

  it("nft delete table bridge kvmnet: status and plan count it as pending, kvmnet up puts it back", async () => {
    await nsh(lab.host, "nft delete table bridge kvmnet");
    expect(await pending()).toBeGreaterThan(0);
    const plan = await kvmnet("plan", "nat0");
    expect(plan.stdout).toContain("add chain bridge kvmnet guard-vm1");
    expect(plan.stdout).not.toContain("nothing to do");
    const text = (await kvmnet("status", "nat0")).stdout;
    expect(text).not.toContain("as configured");
    expect(await forgedArrives()).toBe(true);
    const up = await kvmnet("up", "nat0");
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain("nat0: up (");
    expect(await whole()).toBe(true);
    expect(await pending()).toBe(0);
    expect(await forgedArrives()).toBe(false);
  });

  it("a chain emptied by hand is not in place either: kvmnet up writes it again", async () => {
    await nsh(lab.host, "nft flush chain bridge kvmnet guard-vm0");
    expect(await pending()).toBeGreaterThan(0);
    expect((await kvmnet("up", "nat0")).exitCode).toBe(0);
    expect(await pending()).toBe(0);
    expect(await forgedArrives()).toBe(false);
  });

  it("kvmnet watch, then nft flush ruleset: the guard comes back with its learned pairs", async () => {
    const child = execa("ip", ["netns", "exec", lab.host.name, program("kvmnet"), "watch", "--verbose"], {
      env: { KVMNET_CONFIG: lab.conf.file },
      reject: false,
    });
    let log = "";
    child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    try {
      expect(await until(async () => log.includes("waiting for changes"), 20_000), log).toBe(true);
      const t0 = Date.now();
      await nsh(lab.host, "nft flush ruleset");
      expect(await until(whole, 10_000), log).toBe(true);
      console.log(`kvmnet watch: guard back ${Date.now() - t0} ms after nft flush ruleset (polled every 100 ms)`);
      expect(await forgedArrives()).toBe(false);
      expect(log).toContain("nat0: reapplied");
    } finally {
      child.kill("SIGTERM");
      await child;
    }
  });

  it("without the lease record (kept by no kvmnet before this one), dnsmasq's own lease file gives the pairs back", async () => {
    // Once the lease events have run (they come just after each DHCPACK), the record goes.
    expect(await until(async () => recorded(), 10_000)).toBe(true);
    rmSync(`${lab.conf.stateDir}/nat0.guard-leases`);
    await nsh(lab.host, "nft flush ruleset");
    const r = await kvmnet("reapply");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await whole()).toBe(true);
    expect(await forgedArrives()).toBe(false);
    expect(await lab.ping(vic, "192.0.2.1")).toBe(true);
  });

  it("a tap that no longer exists is dropped from the record, and its chain removed", async () => {
    await nsh(lab.host, "ip link del vm1");
    const r = await kvmnet("reapply");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(`${lab.conf.stateDir}/nat0.guard-taps`, "utf8")).toBe(`vm0 ${ATT}\n`);
    const t = await table();
    expect(t).not.toContain("guard-vm1");
    expect(t).toContain('"vm0" : jump guard-vm0');
    expect(await pending()).toBe(0);
  });
});
