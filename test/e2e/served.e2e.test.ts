// Hooks served by kvmnet watch, end to end: real QEMU guests whose script=/downscript= are the installed
// qemu-natup/qemu-natdown while the installed `kvmnet watch` runs in the lab's host namespace. The first guest's
// hook starts dnsmasq, so the watch leaves it to the hook; the second guest's attach and both guests' detaches
// are served; both guests get their leases and reach the gateway and the outside.
import { describe, expect, it } from "vitest";
import { makeLab, OUTSIDE, type Lab } from "../netns/models-lab.js";
import { startWatch, stopWatch, until } from "../helpers/watch.js";
import { boot, CASE_TIMEOUT, discovers, e2eFile, explain, inTurn, record } from "./guests.js";

const GATEWAY = "192.0.2.1";
const body = (br: string) => `[nat0]
mode = nat
bridge = ${br}
address = ${GATEWAY}/24
dhcp_range = 192.0.2.100,192.0.2.199
`;
const inRange = /^192\.0\.2\.1\d\d\/24$/;

const f = e2eFile<Lab>("served hooks");

describe("hooks served by kvmnet watch", () => {
  it(
    "a second guest attached by the watch gets its lease and reaches gateway and outside; the first guest's cold start is the hook's own; the detaches are served",
    () =>
      inTurn(async () => {
        const lab = (f.lab = await makeLab({ body }));
        const e = f.e;
        const nat = { up: "qemu-natup", down: "qemu-natdown", config: lab.conf.file };
        const w = await startWatch(lab, {}, e.installed.bin("kvmnet"));
        try {
          const alpha = boot(e, lab.host, { ...nat, tap: "vm-alpha", ip: "dhcp", hostname: "alpha", wait: 300 });
          await alpha.waitForResult("lease");
          const r = await boot(e, lab.host, {
            ...nat,
            tap: "vm-beta",
            ip: "dhcp",
            hostname: "beta",
            ping: [GATEWAY, OUTSIDE],
          }).result;
          alpha.kill();
          const ra = await alpha.result;
          record("served", "beta", r);
          record("served", "alpha", ra);
          expect(r.done, explain(r)).toBe(true);
          expect(r.lease?.ip, explain(r)).toMatch(inRange);
          expect(r.pings).toEqual({ [GATEWAY]: true, [OUTSIDE]: true });
          expect(discovers(r), explain(r)).toBe(1);
          expect(ra.lease?.ip, explain(ra)).toMatch(inRange);
          expect(w.log).toContain("left qemu-natup vm-alpha to the hook: the run starts dnsmasq");
          expect(w.log).toContain("served qemu-natup vm-beta: exit 0");
          const detached = () =>
            w.log.includes("served qemu-natdown vm-beta: exit 0") &&
            w.log.includes("served qemu-natdown vm-alpha: exit 0");
          expect(await until(detached, 30_000), w.log).toBeGreaterThanOrEqual(0);
          expect(await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif`)).toBe("");
        } finally {
          await stopWatch(w);
        }
      }),
    CASE_TIMEOUT,
  );
});
