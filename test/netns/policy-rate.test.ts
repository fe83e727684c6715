// rate: a guest's download shaped on its tap's egress, its upload redirected to an IFB and shaped there. iperf3
// (3 s) between each guest and the outside: the limited guest reaches the configured rate within ±10% in both
// directions; its unlimited neighbour (tap.NAME.rate = none) on the same network measures the link without the
// shaper, which must be well above the rate for the comparison to mean anything. A limit changed in the config
// takes effect on `kvmnet up` while a TCP connection of the guest stays open.
import { writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, OUTSIDE, type Lab } from "../helpers/lab.js";
import { program, type Netns } from "../helpers/netns.js";

const MBIT = 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// An iperf3 server for one test in the outside namespace; its stop function kills it by pid. (The child itself is
// not returned: it is a promise, and an async function would wait for it to end.)
async function server(lab: Lab): Promise<{ kill: (signal: "SIGTERM") => void }> {
  const child = lab.outside.spawn("iperf3", ["-s", "-1"]);
  for (let i = 0; i < 100; i++) {
    if ((await lab.outside.sh("ss -ltnH")).includes(":5201")) break;
    await sleep(100);
  }
  return { kill: (signal) => child.kill(signal) };
}

// Bits per second received in a 3 s iperf3 run from guest G to the outside (REVERSE: from the outside to G).
async function iperf(lab: Lab, g: Netns, reverse: boolean, seconds = 3): Promise<number> {
  const srv = await server(lab);
  try {
    const r = await g.run("iperf3", ["-c", OUTSIDE, "-t", String(seconds), "-J", ...(reverse ? ["-R"] : [])]);
    return JSON.parse(String(r.stdout)).end.sum_received.bits_per_second as number;
  } finally {
    srv.kill("SIGTERM");
  }
}

async function up(lab: Lab) {
  const r = await lab.host.tryRun(program("kvmnet"), ["up", "nat0", "--verbose"], {
    env: { KVMNET_CONFIG: lab.conf.file },
  });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return `${String(r.stdout)}${String(r.stderr)}`;
}

function writeConf(lab: Lab, extra: string) {
  const g = `[global]\nstate_dir = ${lab.conf.stateDir}\nlease_dir = ${lab.conf.leaseDir}\n`;
  writeFileSync(lab.conf.file, g + natSection(lab.bridge, extra));
}

describe("rate", () => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.destroy();
  });

  it("a limited guest gets 20mbit each way within 10%, its unlimited neighbour far more", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "rate = 20mbit\ntap.vm1.rate = none\n") });
    const limited = await lab.addGuest("vm0");
    const free = await lab.addGuest("vm1");
    for (const tap of ["vm0", "vm1"]) expect((await lab.hook("qemu-natup", tap)).code).toBe(0);
    expect(await lab.dhcp(limited)).not.toBeNull();
    expect(await lab.dhcp(free)).not.toBeNull();
    // A second run of each hook changes nothing (the taps' records say their limits are in place).
    expect((await lab.hook("qemu-natup", "vm0")).stdout).toBe("");
    const down = await iperf(lab, limited, true);
    const upload = await iperf(lab, limited, false);
    const freeDown = await iperf(lab, free, true);
    const freeUp = await iperf(lab, free, false);
    console.log(
      `rate 20mbit: download ${(down / MBIT).toFixed(1)}, upload ${(upload / MBIT).toFixed(1)} Mbit/s; ` +
        `unlimited neighbour ${(freeDown / MBIT).toFixed(0)} / ${(freeUp / MBIT).toFixed(0)} Mbit/s`,
    );
    expect(freeDown).toBeGreaterThan(60 * MBIT);
    expect(freeUp).toBeGreaterThan(60 * MBIT);
    expect(down).toBeGreaterThan(18 * MBIT);
    expect(down).toBeLessThan(22 * MBIT);
    expect(upload).toBeGreaterThan(18 * MBIT);
    expect(upload).toBeLessThan(22 * MBIT);
    // status shows each tap's limits; metrics the drops of each direction.
    const env = { KVMNET_CONFIG: lab.conf.file };
    const st = JSON.parse(String((await lab.host.run(program("kvmnet"), ["status", "--json"], { env })).stdout));
    const ports = (Array.isArray(st) ? st : st.networks)[0].portDetails;
    expect(ports.find((p: { name: string }) => p.name === "vm0").policy).toEqual({
      isolated: false,
      rate: { down: 20e6, up: 20e6 },
    });
    expect(ports.find((p: { name: string }) => p.name === "vm1").policy).toBeUndefined();
    expect(String((await lab.host.run(program("kvmnet"), ["status"], { env })).stdout)).toContain(
      "rate 20mbit down / 20mbit up",
    );
    const metrics = String((await lab.host.run(program("kvmnet"), ["metrics"], { env })).stdout);
    for (const d of ["download", "upload"])
      expect(metrics).toMatch(
        new RegExp(`kvmnet_rate_drops_total\\{[^}]*interface="vm0"[^}]*direction="${d}"\\} \\d+`),
      );
    expect(metrics).not.toMatch(/kvmnet_rate_drops_total\{[^}]*interface="vm1"/);
    // The limits are kvmnet's: tbf on the tap, the tap's ingress through an IFB named after its ifindex.
    const ifindex = (await lab.host.sh("cat /sys/class/net/vm0/ifindex")).trim();
    expect(await lab.host.sh("tc qdisc show dev vm0")).toContain("tbf 4b56: root");
    expect(await lab.host.sh(`tc qdisc show dev kvi${ifindex}`)).toContain("tbf 4b56: root");
    expect(await lab.host.sh("tc qdisc show dev vm1")).not.toContain("tbf");
    // The tap's IFB goes with it.
    expect((await lab.hook("qemu-natdown", "vm0")).code).toBe(0);
    expect(await lab.host.sh(`ls /sys/class/net`)).not.toContain(`kvi${ifindex}`);
  }, 180_000);

  it("a changed limit takes effect on kvmnet up, the guest's TCP connection open across it", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "rate = 20mbit/20mbit\n") });
    const g = await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect(await lab.dhcp(g)).not.toBeNull();
    // One 8 s upload, per-second intervals; the limit goes to 8mbit after about 3 s of it.
    const srv = await server(lab);
    try {
      const run = g.spawn("iperf3", ["-c", OUTSIDE, "-t", "8", "-J"]);
      await sleep(3000);
      writeConf(lab, "rate = 20mbit/8mbit\n");
      expect(await up(lab)).toContain("tbf rate 8000000bit");
      const r = await run;
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const rep = JSON.parse(String(r.stdout));
      const rates = rep.intervals.map((i: { sum: { bits_per_second: number } }) => i.sum.bits_per_second / MBIT);
      console.log(`upload per second across the change 20mbit -> 8mbit: ${rates.map((x: number) => x.toFixed(1))}`);
      expect(Math.max(...rates.slice(0, 2))).toBeGreaterThan(15);
      expect(Math.max(...rates.slice(-2))).toBeLessThan(10);
    } finally {
      srv.kill("SIGTERM");
    }
    expect(await up(lab)).toContain("already up as configured");
    // The limit lifted: kvmnet up removes kvmnet's shaper, redirect and IFB.
    writeConf(lab, "");
    await up(lab);
    expect(await lab.host.sh("tc qdisc show dev vm0")).not.toContain("tbf");
    expect(await lab.host.sh("ls /sys/class/net")).not.toMatch(/kvi\d/);
    expect(await up(lab)).toContain("already up as configured");
  }, 180_000);
});
