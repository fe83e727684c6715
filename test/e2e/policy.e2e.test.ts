// Per-VM policy end to end with real QEMU guests (issue 21): two guests on one NAT network with port isolation,
// a bandwidth limit and one firewall rule. Guest b shows all three: it does not reach guest a (isolation) but does
// reach the gateway and the outside; it cannot open a connection to the side host's prefix (the rule) while the
// outside answers the same request; and its download from the outside holds to the rate.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeLab, OUTSIDE, SIDE, startEchoAddress, type Lab } from "../netns/models-lab.js";
import { boot, CASE_TIMEOUT, explain, fetched, inTurn, prepare, record, recorded, stopAll, table } from "./guests.js";
import type { E2E } from "./guests.js";

const RATE_BITS = 4e6;
const FILE_BYTES = 1 << 20;

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
afterAll(() => console.log(`network ready, policy case:\n${table(recorded())}`));

describe("port isolation, rate and a firewall rule with real guests", () => {
  it("b reaches the gateway and the outside, not a nor the denied prefix; its download holds to the rate", () =>
    inTurn(async () => {
      lab = await makeLab({
        side: true,
        body: (br) =>
          `[pol]\nmode = nat\nbridge = ${br}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\n` +
          `port_isolation = yes\nrate = 4mbit\ndeny_out.side = to 198.51.100.0/24\n`,
      });
      const h = lab.host;
      stops.push(await startEchoAddress(lab.outside), await startEchoAddress(lab.side!));
      // A 1 MiB file on the outside's web server (busybox httpd forks into the background: stopped by its pid).
      const www = `${lab.conf.dir}/www`;
      await lab.outside.sh(`mkdir -p ${www} && head -c ${FILE_BYTES} /dev/zero > ${www}/file`);
      const httpd = lab.outside.spawn("busybox", ["httpd", "-f", "-p", "8080", "-h", www]);
      stops.push(() => httpd.kill("SIGTERM"));
      // no_timer_check: under software emulation on a loaded machine the kernel's IO-APIC timer check can fail
      // and panic the guest before it starts.
      const conf = { up: "qemu-natup", down: "qemu-natdown", config: lab.conf.file, append: ["no_timer_check"] };
      const a = boot(e, h, { ...conf, tap: "vm-a", ip: "192.0.2.11/24,gw=192.0.2.1", wait: 300 });
      await a.waitForResult("static");
      const r = await boot(e, h, {
        ...conf,
        tap: "vm-b",
        ip: "192.0.2.12/24,gw=192.0.2.1",
        tries: 3,
        ping: ["192.0.2.11", "192.0.2.1", OUTSIDE],
        fetch: [`${OUTSIDE}:7777`, `${SIDE}:7777`],
        append: ["no_timer_check", `kvmnet.download=${OUTSIDE}:8080/file`],
      }).result;
      record("policy", "b", r);
      expect(r.done, explain(r)).toBe(true);
      expect(r.pings, explain(r)).toEqual({ "192.0.2.11": false, "192.0.2.1": true, [OUTSIDE]: true });
      // The outside sees the host's uplink address (NAT); the side host's prefix is refused by the rule.
      expect(fetched(r, `${OUTSIDE}:7777`), explain(r)).toBe("203.0.113.1");
      expect(fetched(r, `${SIDE}:7777`), explain(r)).toBe("fail");
      const counters = await h.sh("nft -j list counters table inet kvmnet");
      const docs = /"name": "acl-pol\.deny_out\.side"[^}]*"packets": (\d+)/.exec(counters);
      expect(Number(docs?.[1]), counters).toBeGreaterThan(0);
      // The download: all of it, at the rate (tc's shaper lets a burst through first: at most 15% over).
      const d = r.results.find((l) => l.kind === "download");
      expect(Number(d?.fields.bytes), explain(r)).toBe(FILE_BYTES);
      const bits = (FILE_BYTES * 8) / (Number(d!.fields.ms) / 1000);
      console.log(`policy e2e: download ${(bits / 1e6).toFixed(2)} Mbit/s under rate = 4mbit`);
      expect(bits).toBeLessThan(RATE_BITS * 1.15);
      expect(bits).toBeGreaterThan(RATE_BITS * 0.5);
    }));
});
