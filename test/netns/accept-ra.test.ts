// A guest must never route the host (issue 18, 3): an RA forged by a guest on a kvmnet bridge gave the host, with
// IPv6 forwarding off, a default route through the guest and a SLAAC address in the guest's prefix, because the
// bridge kept the kernel's accept_ra = 1. kvmnet's own bridges now take no RA (accept_ra = 0, autoconf = 0).
// Control: with accept_ra and autoconf put back to 1 by hand, the same RA installs both, so the check can fail;
// status then counts the bridge as pending and `kvmnet up` turns them off again.
import { writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { program, type Netns } from "../helpers/netns.js";
import { makeLab, type Lab } from "./models-lab.js";
import { RA_PY } from "../helpers/ra.js";

const EVIL = "2001:db8:bad::";

const CASES = [
  {
    what: "a nat bridge without address6",
    program: "qemu-natup",
    body: (br: string) => `[n0]\nmode = nat\nbridge = ${br}\naddress = 192.0.2.1/24\n`,
  },
  {
    what: "a host-only bridge with address6",
    program: "qemu-ifup-isolated",
    body: (br: string) =>
      `[n0]\nmode = host-only\nbridge = ${br}\naddress = 192.0.2.1/24\n` +
      "address6 = fd00:0:0:7::1/64\ndhcp_range = 192.0.2.100,192.0.2.150\n",
  },
];

// Wait (up to 30 s) until G's eth0 has a link-local address that is no longer tentative: an RA's source.
async function linkLocalReady(g: Netns): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const out = await g.sh("ip -6 -o addr show dev eth0 scope link");
    if (out.includes("fe80") && !out.includes("tentative")) return;
    await sleep(100);
  }
  throw new Error("the guest's link-local address stayed tentative");
}

describe("router advertisements from a guest", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it.each(CASES)("on $what give the host no route and no address", async (c) => {
    lab = await makeLab({ body: c.body });
    const h = lab.host;
    const br = lab.bridge;
    const g = await lab.addGuest("vm0");
    const r = await lab.hook(c.program, "vm0");
    expect(r.code, r.stderr).toBe(0);
    const sysctl = async (k: string) => await h.sh(`cat /proc/sys/net/ipv6/conf/${br}/${k}`);
    expect(await sysctl("accept_ra")).toBe("0");
    expect(await sysctl("autoconf")).toBe("0");
    expect(await h.sh("cat /proc/sys/net/ipv6/conf/all/forwarding")).toBe("0");
    writeFileSync(`${lab.conf.dir}/ra.py`, RA_PY);
    await linkLocalReady(g);
    const forge = async () => await g.run("python3", [`${lab.conf.dir}/ra.py`, "eth0", EVIL]);
    const learned = async () => ({
      route: await h.sh("ip -6 route show default"),
      addr: await h.sh(`ip -6 -o addr show dev ${br} | grep -F '${EVIL.slice(0, -1)}' || true`),
    });

    for (let i = 0; i < 3; i++) {
      await forge();
      await sleep(500);
    }
    expect(await learned()).toEqual({ route: "", addr: "" });

    // Control: the same RA on a bridge that takes RAs gives the host both.
    await h.sh(`echo 1 > /proc/sys/net/ipv6/conf/${br}/accept_ra; echo 1 > /proc/sys/net/ipv6/conf/${br}/autoconf`);
    let seen = await learned();
    for (let i = 0; i < 60 && !(seen.route && seen.addr); i++) {
      await forge();
      await sleep(500);
      seen = await learned();
    }
    expect(seen.route).toMatch(new RegExp(`^default via fe80::\\S+ dev ${br} proto ra `));
    expect(seen.addr).toContain(EVIL.slice(0, -1));

    // Such a bridge is not as configured: status counts it, and kvmnet up turns RAs off again.
    const kvmnet = async (...args: string[]) =>
      await h.run(program("kvmnet"), args, { env: { KVMNET_CONFIG: lab.conf.file } });
    const pending = async () => JSON.parse((await kvmnet("status", "n0", "--json")).stdout).networks[0].pending;
    expect(await pending()).toBe(2);
    expect((await kvmnet("plan", "n0")).stdout).toContain(`echo 0 > /proc/sys/net/ipv6/conf/${br}/accept_ra`);
    await kvmnet("up", "n0");
    expect([await sysctl("accept_ra"), await sysctl("autoconf")]).toEqual(["0", "0"]);
    expect(await pending()).toBe(0);
  });
});
