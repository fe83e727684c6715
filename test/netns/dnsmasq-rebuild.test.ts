// A bridge deleted under a running network: the next natup makes it again, and must also give it a working
// dnsmasq (the old one's DHCP socket stays bound to the old ifindex) and put back the taps of VMs still running.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

let lab: Lab;
afterEach(async () => await lab?.destroy());

async function kvmnet(args: string[]) {
  const r = await lab.host.tryRun(program("kvmnet"), args, { env: { KVMNET_CONFIG: lab.conf.file }, timeout: 60_000 });
  return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}` };
}

describe("bridge deleted under a running network", () => {
  it("natup rebuilds it with a working dnsmasq; status and doctor call the old one stale; earlier taps come back", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "taps = vm*\n") });
    const g0 = await lab.addGuest("vm0");
    const g1 = await lab.addGuest("vm1");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect(await lab.dhcp(g0)).not.toBeNull();
    // A host interface that matches the glob but carries an address: never taken as a VM's tap.
    await lab.host.sh(
      "ip link add vm9 type veth peer name h9 && ip addr add 198.51.100.5/24 dev vm9 && ip link set h9 up && ip link set vm9 up",
    );
    const before = Number(readFileSync(`${lab.conf.stateDir}/nat0.dnsmasq.pid`, "utf8"));

    await lab.host.sh(`ip link del ${lab.bridge}`);
    const st = await kvmnet(["status", "nat0"]);
    expect(st.out).not.toContain("as configured");
    const json = JSON.parse((await kvmnet(["status", "nat0", "--json"])).out.trim());
    expect(json.networks[0].dnsmasq.state).toBe("stale");
    const doc = await kvmnet(["doctor"]);
    expect(doc.code).toBe(1);
    expect(doc.out).toMatch(new RegExp(`nat0: dnsmasq pid ${before} is stale`));

    const r = await lab.hook("qemu-natup", "vm1");
    expect(r.code, r.stderr).toBe(0);
    expect((await lab.dhcp(g1))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    // vm0's VM still runs: its tap is back on the bridge and its guest reaches the gateway again.
    expect((await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif`)).split("\n").sort()).toEqual(["vm0", "vm1"]);
    expect(await lab.dhcp(g0)).not.toBeNull();
    expect(await lab.ping(g0, "192.0.2.1")).toBe(true);
    expect((await kvmnet(["status", "nat0"])).out).toMatch(/up, as configured[\s\S]*dnsmasq pid \d+: running/);
  });

  it("status sees a dnsmasq whose bridge is gone even without a natup", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await kvmnet(["status", "nat0"])).out).toMatch(/dnsmasq pid \d+: running/);
    await lab.host.sh(`ip link del ${lab.bridge}`);
    // Made again by hand, as another tool would: same name, new ifindex.
    await lab.host.sh(
      `ip link add ${lab.bridge} type bridge && ip addr add 192.0.2.1/24 dev ${lab.bridge} && ip link set ${lab.bridge} up`,
    );
    const out = (await kvmnet(["status", "nat0"])).out;
    expect(out).toMatch(/dnsmasq pid \d+: stale/);
    expect(out).toMatch(new RegExp(`${lab.bridge} is now ifindex \\d+`));
    expect((await kvmnet(["up", "nat0"])).code).toBe(0);
    expect((await kvmnet(["status", "nat0"])).out).toMatch(/dnsmasq pid \d+: running/);
  });
});
