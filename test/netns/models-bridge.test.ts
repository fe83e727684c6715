// mode = bridge through qemu-ifup-bridge, in real namespaces: attach to an existing bridge; build a missing
// one over the uplink, moving its addresses and routes in one step, undone when any part fails; refuse a
// missing bridge without uplink; `bridge = @default-route`. Bridge mode has no firewall rules of its own.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { HOST_UP, makeLab, nsState, OUTSIDE, pings, type Lab } from "./models-lab.js";

/** What the bridge-over-uplink move may touch, as text. */
async function linkState(lab: Lab): Promise<string> {
  const h = lab.host;
  return [
    await h.sh("ip -o link show | sed -E 's/^[0-9]+: //; s/ qlen [0-9]+//' | grep -v '^lo'"),
    await h.sh("ip -4 -o addr show | grep -v ' lo '"),
    await h.sh("ip -4 route show table all | grep -v ' lo '"),
  ].join("\n----\n");
}

describe("bridge mode", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("attaches to an existing bridge and changes nothing else on it; guests sit on the uplink's segment", async () => {
    lab = await makeLab({
      uplinkAddr: false,
      body: () => "[lan]\nmode = bridge\nbridge = lanbr\nteardown = when-idle\n",
    });
    const h = lab.host;
    await h.sh(
      `ip link add lanbr type bridge && ip link set up0 master lanbr && ip link set lanbr up && ip addr add ${HOST_UP}/24 dev lanbr`,
    );
    const g = await lab.addGuest("vm0", "203.0.113.50/24");
    const before = await nsState(h);
    const first = await lab.hook("qemu-ifup-bridge", "vm0", { KVMNET_VERBOSE: "1" });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe("qemu-ifup-bridge: ip link set dev vm0 mtu 1500 master lanbr up");
    expect((await h.sh("ls /sys/class/net/lanbr/brif")).split("\n").sort()).toEqual(["up0", "vm0"]);
    const after = await nsState(h);
    expect((await lab.hook("qemu-ifup-bridge", "vm0", { KVMNET_VERBOSE: "1" })).stderr).toBe("");
    expect(await nsState(h)).toBe(after);
    // On the segment itself: the outside and the host, by ARP, no routing.
    expect(await pings(g, OUTSIDE)).toBe(true);
    expect(await pings(g, HOST_UP)).toBe(true);
    expect(await lab.outside.sh("ip neigh show 203.0.113.50")).toMatch(/lladdr/);
    // Down: the tap leaves; the admin's bridge stays although teardown = when-idle (kvmnet did not make it).
    expect((await lab.hook("qemu-ifdown", "vm0")).code).toBe(0);
    expect(await h.sh("ls /sys/class/net/lanbr/brif")).toBe("up0");
    expect((await nsState(h)).replace(/vm0@.*\n.*\n/, "")).toBe(before.replace(/vm0@.*\n.*\n/, ""));
  });

  it("a missing bridge without uplink is a clear error, exit 2, nothing changed", async () => {
    lab = await makeLab({ body: (br) => `[lan]\nmode = bridge\nbridge = ${br}\n` });
    await lab.addGuest("vm0");
    const before = await nsState(lab.host);
    const r = await lab.hook("qemu-ifup-bridge", "vm0");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `qemu-ifup-bridge: ${lab.conf.file}:7: bridge: ${lab.bridge} does not exist: create it (e.g. in /etc/network/interfaces), or set uplink = NIC to have kvmnet build it over that NIC`,
    );
    expect(await nsState(lab.host)).toBe(before);
  });

  it("a missing bridge with uplink is built over it: addresses and routes (default too) move in one batch", async () => {
    lab = await makeLab({ body: (br) => `[lan]\nmode = bridge\nbridge = ${br}\nuplink = up0\n` });
    const h = lab.host;
    await h.sh(
      `ip route add default via ${OUTSIDE} dev up0 && ip route add 198.51.100.0/24 via ${OUTSIDE} metric 7 proto static && ip addr add 203.0.113.9/24 dev up0`,
    );
    const g = await lab.addGuest("vm0", "203.0.113.50/24");
    const mac = await h.sh("cat /sys/class/net/up0/address");
    const r = await lab.hook("qemu-ifup-bridge", "vm0", { KVMNET_VERBOSE: "1" });
    expect(r.code, r.stderr).toBe(0);
    const br = lab.bridge;
    // One ip -batch did the move: its here-document is the first thing logged.
    expect(r.stderr.split("\n")[0]).toBe("qemu-ifup-bridge: ip -batch - <<'EOF'");
    expect(await h.sh(`cat /sys/class/net/${br}/address`)).toBe(mac);
    expect((await h.sh(`ls /sys/class/net/${br}/brif`)).split("\n").sort()).toEqual(["up0", "vm0"]);
    expect(await h.sh("ip -4 -o addr show dev up0")).toBe("");
    expect(await h.sh(`ip -4 -o addr show dev ${br} | awk '{print $4}'`)).toBe(`${HOST_UP}/24\n203.0.113.9/24`);
    expect(await h.sh("ip -4 route show")).toBe(
      [
        `default via ${OUTSIDE} dev ${br} `,
        `198.51.100.0/24 via ${OUTSIDE} dev ${br} proto static metric 7 `,
        `203.0.113.0/24 dev ${br} proto kernel scope link src ${HOST_UP} `,
      ].join("\n"),
    );
    // The host still reaches the world through its default route, and the guest is on the segment.
    expect(await h.sh("ip route get 198.51.100.20")).toMatch(`via ${OUTSIDE} dev ${br}`);
    expect(await pings(h, OUTSIDE)).toBe(true);
    expect(await pings(g, OUTSIDE)).toBe(true);
    expect(await pings(g, HOST_UP)).toBe(true);
    // The second VM only attaches; the uplink is refused as a TAP.
    const state = await linkState(lab);
    await lab.addGuest("vm1");
    const again = await lab.hook("qemu-ifup-bridge", "vm1", { KVMNET_VERBOSE: "1" });
    expect(again.stderr).toBe(`qemu-ifup-bridge: ip link set dev vm1 mtu 1500 master ${br} up`);
    expect((await linkState(lab)).replace(/\n?vm1@.*/g, "")).toBe(state.replace(/\n?vm1@.*/g, ""));
    const wrong = await lab.hook("qemu-ifup-bridge", "up0");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/refusing up0: it is the uplink of network lan/);
  });

  it("when any part of the move fails, all of it is undone and the host is as it was", async () => {
    lab = await makeLab({ body: (br) => `[lan]\nmode = bridge\nbridge = ${br}\nuplink = up0\n`, side: true });
    const h = lab.host;
    // A route of another interface with the same key (destination, metric) as one of up0's: the bridge's twin is
    // prepended beside it, as up0's was first before.
    await h.sh(
      `ip route add default via ${OUTSIDE} dev up0 && ip route add 192.0.2.0/24 via ${OUTSIDE} dev up0 metric 7`,
    );
    await h.sh("ip route append 192.0.2.0/24 dev side0 metric 7");
    await lab.addGuest("vm0");
    const before = await linkState(lab);
    // A fault injected into the move's batch: its line 9 (taking 192.0.2.0/24 off up0) made one that fails with
    // "Address already assigned". By then the bridge, the address and both routes are on the bridge, the default
    // route off up0.
    mkdirSync(`${lab.conf.dir}/bin`);
    writeFileSync(
      `${lab.conf.dir}/bin/ip`,
      '#!/bin/sh\nif [ "$1" = "-batch" ]; then\n' +
        "  sed '9s|.*|address add 127.0.0.1/8 dev lo|' | /usr/sbin/ip -batch -\n  exit $?\n" +
        'fi\nexec /usr/sbin/ip "$@"\n',
    );
    chmodSync(`${lab.conf.dir}/bin/ip`, 0o755);
    const r = await lab.hook("qemu-ifup-bridge", "vm0", {
      KVMNET_VERBOSE: "1",
      PATH: `${lab.conf.dir}/bin:${process.env.PATH}`,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/qemu-ifup-bridge: command failed: ip -batch -/);
    expect(r.stderr).toMatch(/Address already assigned\.\n.*Command failed -:9\n/);
    expect(r.stderr).toMatch(
      new RegExp(
        `route prepend 0\\.0\\.0\\.0/0 via ${OUTSIDE} dev ${lab.bridge}\n` +
          `.*route prepend 192\\.0\\.2\\.0/24 via ${OUTSIDE} dev ${lab.bridge} metric 7\n` +
          `.*route del 0\\.0\\.0\\.0/0 via ${OUTSIDE} dev up0\n`,
      ),
    );
    expect(r.stderr).toMatch(`rolled back: up0 has its addresses and routes again and ${lab.bridge} is gone`);
    expect(await linkState(lab)).toBe(before);
    expect(await pings(h, OUTSIDE)).toBe(true);
  });

  it("a route of another interface with the same key does not stop the move; it keeps its place behind", async () => {
    lab = await makeLab({ body: (br) => `[lan]\nmode = bridge\nbridge = ${br}\nuplink = up0\n`, side: true });
    const h = lab.host;
    await h.sh(
      `ip route add default via ${OUTSIDE} dev up0 && ip route add 192.0.2.0/24 via ${OUTSIDE} dev up0 metric 7`,
    );
    await h.sh("ip route append 192.0.2.0/24 dev side0 metric 7");
    await lab.addGuest("vm0");
    const r = await lab.hook("qemu-ifup-bridge", "vm0");
    expect(r.code, r.stderr).toBe(0);
    expect(await h.sh("ip -4 route show 192.0.2.0/24")).toBe(
      `192.0.2.0/24 via ${OUTSIDE} dev ${lab.bridge} metric 7 \n192.0.2.0/24 dev side0 scope link metric 7 `,
    );
  });

  it("bridge = @default-route attaches to the bridge carrying the default route, and refuses when none does", async () => {
    lab = await makeLab({ uplinkAddr: false, body: () => "[lan]\nmode = bridge\nbridge = @default-route\n" });
    const h = lab.host;
    await lab.addGuest("vm0");
    // The default route through a plain NIC: no bridge to attach to.
    await h.sh(`ip addr add ${HOST_UP}/24 dev up0 && ip route add default via ${OUTSIDE}`);
    const before = await nsState(h);
    const none = await lab.hook("qemu-ifup-bridge", "vm0");
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      `qemu-ifup-bridge: ${lab.conf.file}:7: bridge: @default-route: the default route goes through up0, which is not a bridge; put the host's NIC on a bridge (or name the bridge here)`,
    );
    expect(await nsState(h)).toBe(before);
    // Now the admin bridges the NIC (as /etc/network/interfaces would) and moves the default route.
    await h.sh(
      `ip addr flush dev up0 && ip link add hostbr type bridge && ip link set up0 master hostbr && ip link set hostbr up`,
    );
    await h.sh(`ip link add otherbr type bridge && ip link set otherbr up`);
    await h.sh(`ip addr add ${HOST_UP}/24 dev hostbr && ip route add default via ${OUTSIDE}`);
    const r = await lab.hook("qemu-ifup-bridge", "vm0");
    expect(r.code, r.stderr).toBe(0);
    expect((await h.sh("ls /sys/class/net/hostbr/brif")).split("\n").sort()).toEqual(["up0", "vm0"]);
    const g = lab.guests[0]!;
    await g.sh("ip addr add 203.0.113.50/24 dev eth0");
    expect(await pings(g, OUTSIDE)).toBe(true);
    expect((await lab.hook("qemu-ifdown", "vm0")).code).toBe(0);
    expect(await h.sh("ls /sys/class/net/hostbr/brif")).toBe("up0");
  });
});
