// The other modes end to end, as the models issue defines them, with real QEMU guests whose taps the
// installed programs bring up: isolated (guests reach each other only), host-only (plus the host, nothing
// beyond), routed (forwarding without NAT), bridge (guests on the uplink's segment, existing bridge or one
// kvmnet builds over the uplink). Where a check expects "unreachable", the host forwards and the outside
// routes back, and a control guest shows the same path open once kvmnet's rules are removed.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dropRules, HOST_UP, makeLab, OUTSIDE, pings, startEchoAddress, type Lab } from "../netns/models-lab.js";
import {
  boot,
  stopAll,
  CASE_TIMEOUT,
  explain,
  fetched,
  inTurn,
  prepare,
  discovers,
  record,
  recorded,
  table,
  type E2E,
} from "./guests.js";
import { startSegmentDhcp, type SegmentDhcp } from "./segment-dhcp.js";

let e: E2E;
let lab: Lab | undefined;
const stops: (() => unknown)[] = [];
beforeAll(async () => {
  e = await prepare();
}, CASE_TIMEOUT);
afterEach(async () => {
  await stopAll();
  while (stops.length) await stops.pop()!();
  await lab?.destroy();
  lab = undefined;
});
afterAll(() => console.log(`network ready, mode cases:\n${table(recorded())}`));

const closed = (l: Lab) => ({ up: "qemu-ifup-isolated", down: "qemu-ifdown", config: l.conf.file });
const generic = (l: Lab) => ({ up: "qemu-ifup", down: "qemu-ifdown", config: l.conf.file });
const bridged = (l: Lab) => ({ up: "qemu-ifup-bridge", down: "qemu-ifdown", config: l.conf.file });

/** A control guest's attachment without kvmnet (whose up hook would put the removed rules back). */
function plain(l: Lab) {
  const script = join(l.conf.dir, "plain-ifup");
  writeFileSync(script, `#!/bin/sh\nexec ip link set dev "$1" master ${l.bridge} up\n`, { mode: 0o755 });
  return { up: script, down: "no", config: l.conf.file };
}

/** The worst case for a closed network: the host forwards, and the outside routes 192.0.2.0/24 to it. */
async function openHost(l: Lab): Promise<void> {
  await l.host.sh("echo 1 > /proc/sys/net/ipv4/ip_forward");
  await l.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UP}`);
}

describe("isolated", () => {
  it(
    "guests reach each other, not the host or the outside (though the host forwards and routes)",
    () =>
      inTurn(async () => {
        lab = await makeLab({ body: (br) => `[iso]\nmode = isolated\nbridge = ${br}\n` });
        const h = lab.host;
        await openHost(lab);
        // A host address the guests can ARP for (the host answers ARP for any of its addresses): their gateway.
        await h.sh("ip addr add 192.0.2.254/32 dev lo");
        const a = boot(e, h, { ...closed(lab), tap: "vm-a", ip: "192.0.2.11/24", wait: 300 });
        await a.waitForResult("static");
        await h.sh(`ip route add 192.0.2.0/24 dev ${lab.bridge}`);
        const r = await boot(e, h, {
          ...closed(lab),
          tap: "vm-b",
          ip: "192.0.2.12/24,gw=192.0.2.254",
          ping: ["192.0.2.11", "192.0.2.254", HOST_UP, OUTSIDE],
        }).result;
        record("isolated", "b", r);
        expect(r.done, explain(r)).toBe(true);
        expect(r.pings, explain(r)).toEqual({
          "192.0.2.11": true,
          "192.0.2.254": false,
          [HOST_UP]: false,
          [OUTSIDE]: false,
        });
        expect(await h.sh(`ip -4 -o addr show dev ${lab.bridge}`)).toBe("");

        // Control: the same path with kvmnet's rules removed.
        await dropRules(h, "nftables", "iso");
        const c = await boot(e, h, {
          ...plain(lab),
          tap: "vm-c",
          ip: "192.0.2.13/24,gw=192.0.2.254",
          ping: ["192.0.2.254", OUTSIDE],
        }).result;
        record("isolated (control, rules removed)", "c", c);
        expect(c.pings, explain(c)).toEqual({ "192.0.2.254": true, [OUTSIDE]: true });
      }),
    CASE_TIMEOUT,
  );
});

describe("host-only", () => {
  it(
    "a lease without a router; guests reach the host (DNS too) and each other, nothing beyond",
    () =>
      inTurn(async () => {
        lab = await makeLab({
          body: (br) =>
            `[ho]\nmode = host-only\nbridge = ${br}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.150\n`,
        });
        const h = lab.host;
        await openHost(lab);
        const a = boot(e, h, { ...closed(lab), tap: "vm-a", ip: "dhcp", hostname: "alpha", wait: 300 });
        const lease = (await a.waitForResult("lease")).fields;
        expect(lease.ip).toMatch(/^192\.0\.2\.1([0-4]\d|50)\/24$/);
        expect(lease).toMatchObject({ router: "", dns: "192.0.2.1", server: "192.0.2.1" });
        const alphaIp = lease.ip!.split("/")[0]!;
        // A guest that makes the host its gateway anyway.
        const r = await boot(e, h, {
          ...closed(lab),
          tap: "vm-b",
          ip: "192.0.2.20/24,gw=192.0.2.1,dns=192.0.2.1",
          ping: ["192.0.2.1", alphaIp, OUTSIDE],
          resolve: ["alpha"],
        }).result;
        record("host-only", "b", r);
        expect(r.pings, explain(r)).toEqual({ "192.0.2.1": true, [alphaIp]: true, [OUTSIDE]: false });
        expect(r.resolved).toEqual({ alpha: alphaIp });
        expect(await pings(lab.outside, alphaIp)).toBe(false);
        a.kill();
        const ra = await a.result;
        expect(record("host-only", "alpha", ra).dhcpMs, explain(ra)).not.toBeNull();
        expect(discovers(ra), explain(ra)).toBe(1);

        await dropRules(h, "nftables", "ho");
        const c = await boot(e, h, { ...plain(lab), tap: "vm-c", ip: "192.0.2.21/24,gw=192.0.2.1", ping: [OUTSIDE] })
          .result;
        record("host-only (control, rules removed)", "c", c);
        expect(c.pings, explain(c)).toEqual({ [OUTSIDE]: true });
      }),
    CASE_TIMEOUT,
  );
});

describe("routed", () => {
  it(
    "forwarding without NAT: the outside sees the guest's own address and reaches the guest",
    () =>
      inTurn(async () => {
        lab = await makeLab({
          body: (br) =>
            `[rt]\nmode = routed\nbridge = ${br}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.150\nuplink = up0\n`,
        });
        // Routed: the outside needs a return route to the guests' subnet.
        await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UP}`);
        stops.push(await startEchoAddress(lab.outside));
        const g = boot(e, lab.host, {
          ...generic(lab),
          tap: "vm0",
          ip: "dhcp",
          ping: ["192.0.2.1", OUTSIDE],
          fetch: [`${OUTSIDE}:7777`],
          wait: 300,
        });
        const ip = (await g.waitForResult("lease")).fields.ip!.split("/")[0]!;
        await g.waitForResult("fetch");
        expect(await pings(lab.outside, ip)).toBe(true);
        g.kill();
        const r = await g.result;
        expect(record("routed", "g", r).dhcpMs, explain(r)).not.toBeNull();
        expect(discovers(r), explain(r)).toBe(1);
        expect(r.lease?.ip, explain(r)).toMatch(/^192\.0\.2\.1([0-4]\d|50)\/24$/);
        expect(r.lease?.router).toBe("192.0.2.1");
        expect(r.pings, explain(r)).toEqual({ "192.0.2.1": true, [OUTSIDE]: true });
        expect(fetched(r, `${OUTSIDE}:7777`), explain(r)).toBe(ip);
        expect(await lab.host.sh("nft list ruleset")).not.toMatch(/masquerade|snat/);
      }),
    CASE_TIMEOUT,
  );
});

describe("bridge", () => {
  let dhcp: SegmentDhcp;
  const onSegment = async (l: Lab, kase: string) => {
    // The segment's own DHCP server, in the outside namespace: a lease from it shows the guest is on the segment.
    dhcp = await startSegmentDhcp(l.outside, "eth0", OUTSIDE, "203.0.113.100,203.0.113.150");
    stops.push(async () => await dhcp.stop());
    const g = boot(e, l.host, { ...bridged(l), tap: "vm0", ip: "dhcp", hostname: "seg", ping: [OUTSIDE, HOST_UP] });
    const r = await g.result;
    expect(record(kase, "g", r).dhcpMs, explain(r)).not.toBeNull();
    expect(discovers(r), explain(r)).toBe(1);
    expect(r.lease?.ip, explain(r)).toMatch(/^203\.0\.113\.1([0-4]\d|50)\/24$/);
    expect(r.lease).toMatchObject({ router: OUTSIDE, server: OUTSIDE });
    expect(r.pings, explain(r)).toEqual({ [OUTSIDE]: true, [HOST_UP]: true });
    expect(dhcp.leases()).toContain(`${g.mac} ${r.lease!.ip!.split("/")[0]} seg`);
  };

  it(
    "an existing bridge: the guest sits on the uplink's segment and gets its lease from there",
    () =>
      inTurn(async () => {
        lab = await makeLab({ uplinkAddr: false, body: () => "[lan]\nmode = bridge\nbridge = lanbr\n" });
        await lab.host.sh(
          `ip link add lanbr type bridge && ip link set up0 master lanbr && ip link set lanbr up && ip addr add ${HOST_UP}/24 dev lanbr`,
        );
        await onSegment(lab, "bridge (existing)");
        expect(await lab.host.sh("ls /sys/class/net/lanbr/brif")).toBe("up0");
      }),
    CASE_TIMEOUT,
  );

  it(
    "a missing bridge with uplink: kvmnet builds it over the uplink; host and guest both on the segment",
    () =>
      inTurn(async () => {
        lab = await makeLab({ body: (br) => `[lan]\nmode = bridge\nbridge = ${br}\nuplink = up0\n` });
        await onSegment(lab, "bridge (built over uplink)");
        const h = lab.host;
        expect(await h.sh(`ls /sys/class/net/${lab.bridge}/brif`)).toBe("up0");
        expect(await h.sh(`ip -4 -o addr show dev ${lab.bridge}`)).toContain(`${HOST_UP}/24`);
        expect(await pings(h, OUTSIDE)).toBe(true);
      }),
    CASE_TIMEOUT,
  );
});
