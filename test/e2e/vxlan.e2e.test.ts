// A nat network across hosts with real QEMU guests: the gateway host (namespace) brought up by `kvmnet up`, a
// guest on each of two member hosts whose taps the installed qemu-natup attaches. Both guests lease from the
// gateway's dnsmasq over VXLAN, reach each other across hosts, the gateway and the outside through its NAT.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { veth } from "../helpers/netns.js";
import { makeVxlanLab, type VxlanLab } from "../netns/vxlan-lab.js";
import { boot, CASE_TIMEOUT, explain, inTurn, prepare, record, recorded, stopAll, table, type E2E } from "./guests.js";

// Not this machine's name: the QEMU hooks run under it, so they take the member's role.
const GATEWAY = "kvmnet-e2e-gw";

const body = (br: string) => `[lab]
mode = nat
bridge = ${br}
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.199
vxlan_id = 4444
vxlan_dev = u0
vxlan_peers = 203.0.113.1, 203.0.113.2, 203.0.113.3
role = member

[lab@${GATEWAY}]
role = gateway
`;

let e: E2E;
let lab: VxlanLab | undefined;
beforeAll(async () => {
  e = await prepare();
}, CASE_TIMEOUT);
afterEach(async () => {
  await stopAll();
  await lab?.destroy();
  lab = undefined;
});
afterAll(() => console.log(`network ready, VXLAN case:\n${table(recorded())}`));

describe("nat network across hosts (VXLAN, static peers)", () => {
  it(
    "guests on two member hosts lease from the gateway, reach each other across hosts and the outside",
    () =>
      inTurn(async () => {
        lab = await makeVxlanLab(body);
        const gw = await lab.addHost(1, GATEWAY);
        const m2 = await lab.addHost(2, "m2");
        const m3 = await lab.addHost(3, "m3");
        const outside = await lab.extra("kxo");
        await veth(gw.ns, "up0", outside, "eth0");
        await gw.ns.sh("ip addr add 198.51.100.1/24 dev up0");
        await outside.sh("ip addr add 198.51.100.2/24 dev eth0");
        const up = await lab.run(gw, "kvmnet", ["up", "lab"]);
        expect(up.code, up.stderr).toBe(0);

        const hooks = { up: "qemu-natup", down: "qemu-natdown", config: lab.conf.file };
        const a = boot(e, m2.ns, { ...hooks, tap: "vm-a", ip: "dhcp", wait: 300 });
        const lease = (await a.waitForResult("lease")).fields;
        expect(lease).toMatchObject({ router: "192.0.2.1", server: "192.0.2.1" });
        const aIp = lease.ip!.split("/")[0]!;
        const r = await boot(e, m3.ns, {
          ...hooks,
          tap: "vm-b",
          ip: "dhcp",
          ping: [aIp, "192.0.2.1", "198.51.100.2"],
        }).result;
        record("vxlan member", "b", r);
        expect(r.done, explain(r)).toBe(true);
        expect(r.lease?.ip, explain(r)).toMatch(/^192\.0\.2\.1\d\d\/24$/);
        expect(r.pings, explain(r)).toEqual({ [aIp]: true, "192.0.2.1": true, "198.51.100.2": true });
        // The taps got the VXLAN MTU, and the members run no dnsmasq of their own.
        expect(await m2.ns.sh("cat /sys/class/net/vm-a/mtu")).toBe("1450");
        expect(await m3.ns.sh(`ip -4 -o addr show dev ${lab.bridge}`)).toBe("");
      }),
    CASE_TIMEOUT,
  );
});
