// NAT end to end: real QEMU guests whose tap the installed qemu-natup/qemu-natdown bring up and down, in a
// lab of namespaces (host + outside on 203.0.113.0/24 beyond up0). Lease, gateway, outside, masquerade
// (the outside's echo server tells the guest which address it sees), a host.NAME static lease, DNS names of
// other guests, and one guest stopping while another keeps its connectivity.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeLab, OUTSIDE, HOST_UP, startEchoAddress, type Lab } from "../netns/models-lab.js";
import { makeBridgeNetns } from "../vm/netns.js";
import { bootGuest } from "../vm/initramfs.js";
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
  watched,
  type E2E,
} from "./guests.js";

const GATEWAY = "192.0.2.1";
const WEB_MAC = "52:54:00:00:0a:0a";
const body = (br: string) => `[nat0]
mode = nat
bridge = ${br}
address = ${GATEWAY}/24
dhcp_range = 192.0.2.100,192.0.2.199
host.web = ${WEB_MAC},192.0.2.10
`;
const inRange = /^192\.0\.2\.1\d\d\/24$/;

let e: E2E;
let lab: Lab | undefined;
let stopEcho: (() => void) | undefined;
beforeAll(async () => {
  e = await prepare();
}, CASE_TIMEOUT);
afterEach(async () => {
  await stopAll();
  stopEcho?.();
  stopEcho = undefined;
  await lab?.destroy();
  lab = undefined;
});
afterAll(() => console.log(`network ready, NAT cases:\n${table(recorded())}`));

const nat = (l: Lab) => ({ up: "qemu-natup", down: "qemu-natdown", config: l.conf.file });

describe.each(["nftables", "iptables"] as const)("nat with %s", (firewall) => {
  it(
    "a guest gets a lease in range, reaches gateway and outside; the outside sees the host's address",
    () =>
      inTurn(async () => {
        lab = await makeLab({ firewall, body });
        stopEcho = await startEchoAddress(lab.outside);
        const r = await boot(e, lab.host, {
          ...nat(lab),
          tap: "vm0",
          ip: "dhcp",
          hostname: "beta",
          ping: [GATEWAY, OUTSIDE],
          fetch: [`${OUTSIDE}:7777`],
        }).result;
        const row = record(`nat ${firewall}`, "beta", r);
        expect(r.done, explain(r)).toBe(true);
        expect(r.lease?.ip, explain(r)).toMatch(inRange);
        expect(r.lease).toMatchObject({ router: GATEWAY, dns: GATEWAY, server: GATEWAY });
        expect(r.pings).toEqual({ [GATEWAY]: true, [OUTSIDE]: true });
        expect(fetched(r, `${OUTSIDE}:7777`), explain(r)).toBe(HOST_UP);
        expect(row.dhcpMs, explain(r)).not.toBeNull();
        expect(discovers(r), explain(r)).toBe(1);
        // QEMU ran qemu-natdown on exit: the tap is gone, the network stays (teardown = keep).
        expect(await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif`)).toBe("");
        expect(await lab.host.sh(`ip -4 -o addr show dev ${lab.bridge}`)).toContain(`${GATEWAY}/24`);
      }),
    CASE_TIMEOUT,
  );
});

describe("nat with nftables", () => {
  it(
    "a host.NAME static lease is honoured; a guest resolves another guest's name through kvmnet's DNS",
    () =>
      inTurn(async () => {
        lab = await makeLab({ body });
        const alpha = boot(e, lab.host, { ...nat(lab), tap: "vm-alpha", ip: "dhcp", hostname: "alpha", wait: 300 });
        const alphaIp = (await alpha.waitForResult("lease")).fields.ip!.split("/")[0]!;
        const r = await boot(e, lab.host, {
          ...nat(lab),
          tap: "vm-web",
          mac: WEB_MAC,
          ip: "dhcp",
          hostname: "web",
          resolve: ["alpha", "web"],
          ping: [alphaIp],
        }).result;
        alpha.kill();
        const ra = await alpha.result;
        expect(record("nat host.web + names", "web", r).dhcpMs, explain(r)).not.toBeNull();
        expect(discovers(r), explain(r)).toBe(1);
        record("nat host.web + names", "alpha", ra);
        expect(r.lease?.ip, explain(r)).toBe("192.0.2.10/24");
        // "alpha" is known only from alpha's own DHCP request; "web" from the config's host.web.
        expect(r.resolved, explain(r)).toEqual({ alpha: alphaIp, web: "192.0.2.10" });
        expect(r.pings).toEqual({ [alphaIp]: true });
        expect(ra.lease?.ip, explain(ra)).toMatch(inRange);
      }),
    CASE_TIMEOUT,
  );

  it(
    "two guests: when one stops, the other keeps reaching gateway and outside without a gap",
    () =>
      inTurn(async () => {
        lab = await makeLab({ body });
        const h = lab.host;
        // The first guest's tap gets the lowest MAC on the bridge: a bridge without a fixed MAC of its own would
        // take this one and change it when the guest leaves. QEMU opens the existing tap.
        await h.sh("ip tuntap add dev vm-a mode tap && ip link set vm-a address 02:00:00:00:00:01");
        const a = boot(e, h, { ...nat(lab), tap: "vm-a", ip: "dhcp", hostname: "a", wait: 300 });
        await a.waitForResult("lease");
        const brMac = await h.sh(`cat /sys/class/net/${lab.bridge}/address`);
        const b = boot(e, h, {
          ...nat(lab),
          tap: "vm-b",
          ip: "dhcp",
          hostname: "b",
          watch: { targets: [GATEWAY, OUTSIDE], secs: 12 },
        });
        await b.waitForResult("watch-start");
        await new Promise((r) => setTimeout(r, 2000));
        a.kill();
        record("nat one of two stops", "a", await a.result);
        // qemu-natdown ran: a's tap left the bridge, b's is still there.
        expect(await h.sh(`ls /sys/class/net/${lab.bridge}/brif`)).toBe("vm-b");
        const rb = await b.result;
        expect(record("nat one of two stops", "b", rb).dhcpMs, explain(rb)).not.toBeNull();
        expect(discovers(rb), explain(rb)).toBe(1);
        expect(await h.sh(`cat /sys/class/net/${lab.bridge}/address`)).toBe(brMac);
        for (const ip of [GATEWAY, OUTSIDE]) {
          const w = watched(rb, ip);
          expect(w?.sent, explain(rb)).toBeGreaterThanOrEqual(30);
          // ping -w may stop before the last reply arrives: at most that one is missing.
          expect(w!.sent - w!.received, `${ip}: ${JSON.stringify(w)}\n${explain(rb)}`).toBeLessThanOrEqual(1);
        }
      }),
    CASE_TIMEOUT,
  );
});

describe("baseline without kvmnet", () => {
  it(
    "the same guest on a plain bridge with a plain dnsmasq (no ping check): the network-ready reference",
    () =>
      inTurn(async () => {
        const net = await makeBridgeNetns({ address: "192.0.2.1/24", dhcpRange: "192.0.2.100,192.0.2.199" });
        try {
          const r = await bootGuest({
            kernel: e.kernel,
            initrd: e.initrd,
            netns: net.ns,
            tap: "vm0",
            script: net.ifup,
            downscript: net.ifdown,
            ip: "dhcp",
            ping: [GATEWAY],
            tries: 3,
          }).result;
          record("baseline: plain bridge + dnsmasq", "g", r);
          expect(r.lease?.ip, explain(r)).toMatch(inRange);
          expect(r.pings).toEqual({ [GATEWAY]: true });
        } finally {
          await net.cleanup();
        }
      }),
    CASE_TIMEOUT,
  );
});

describe("nat with IPv6", () => {
  it(
    "a guest configures IPv6 from kvmnet's router advertisements and reaches the outside over IPv6 (NAT66)",
    () =>
      inTurn(async () => {
        lab = await makeLab({ body: (br) => `${body(br)}address6 = fd00:0:0:6::1/64\n` });
        await lab.host.sh("ip addr add 2001:db8:1::1/64 dev up0 nodad");
        await lab.outside.sh("ip addr add 2001:db8:1::2/64 dev eth0 nodad");
        // No route back to the network's /64 on the outside: a reply comes back only through NAT66.
        const r = await boot(e, lab.host, {
          ...nat(lab),
          tap: "vm0",
          ip: "dhcp",
          ping: ["fd00:0:0:6::1", "2001:db8:1::2"],
          tries: 20,
        }).result;
        record("nat IPv6", "six", r);
        expect(r.done, explain(r)).toBe(true);
        expect(r.lease?.ip, explain(r)).toMatch(inRange);
        expect(r.pings, explain(r)).toEqual({ "fd00:0:0:6::1": true, "2001:db8:1::2": true });
      }),
    CASE_TIMEOUT,
  );
});

describe("nat with a published port", () => {
  it(
    "a guest's published port answers from the outside (tcp:8080=web:80)",
    () =>
      inTurn(async () => {
        lab = await makeLab({ body: (br) => `${body(br)}publish = tcp:8080=web:80\n` });
        const h = boot(e, lab.host, {
          ...nat(lab),
          tap: "vm0",
          mac: WEB_MAC,
          ip: "dhcp",
          hostname: "web",
          append: ["kvmnet.serve=80"],
          wait: 30,
        });
        await h.waitForResult("serving", 120_000);
        // An HTTP request by hand (busybox wget crashes on this host): the reply's last line is the page.
        const got = await lab.outside.sh(
          `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 ${HOST_UP} 8080 || true`,
        );
        expect(got.trim().split("\n").pop(), got).toBe("kvmnet-guest web");
        await stopAll();
      }),
    CASE_TIMEOUT,
  );
});
