// A bridge over the uplink whose move was cut off by SIGKILL half-way is finished by the next run: the
// journal written before the batch tells it the move was cut off, and it finishes it from what the bridge, the NIC
// and the journal hold (issue 9: the rerun used to exit 0, change nothing, and leave the host without its address
// or default route; issue 18: it undid the move and made it again).
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { HOST_UP, makeLab, OUTSIDE, pings, type Lab } from "./models-lab.js";

/** A PATH whose `ip` runs only the first LINES lines of a batch, then SIGKILLs the hook that ran it. */
function killingPath(dir: string, lines: number): string {
  mkdirSync(dir);
  writeFileSync(
    `${dir}/ip`,
    `#!/bin/sh
if [ "$1" = "-batch" ]; then
  head -n ${lines} > "${dir}/part"
  /usr/sbin/ip -batch "${dir}/part"
  kill -KILL $PPID
  exit 1
fi
exec /usr/sbin/ip "$@"
`,
  );
  chmodSync(`${dir}/ip`, 0o755);
  return `${dir}:${process.env.PATH}`;
}

describe("uplink move cut off by SIGKILL", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it.each([3, 5, 7])(
    "after %i lines of the batch, the next run completes the bridge and the host is online",
    async (lines) => {
      lab = await makeLab({ body: (br) => `[lan]\nmode = bridge\nbridge = ${br}\nuplink = up0\n` });
      const h = lab.host;
      await h.sh(`ip route add default via ${OUTSIDE} dev up0`);
      await lab.addGuest("vm0", "203.0.113.50/24");
      const killed = await lab.hook("qemu-ifup-bridge", "vm0", { PATH: killingPath(`${lab.conf.dir}/bin`, lines) });
      expect(killed.code).not.toBe(0);
      expect(await h.sh(`ls ${lab.conf.stateDir}`)).toBe("lan.uplink-move");
      // Half moved: the host has lost its address or its default route somewhere in between.
      const r = await lab.hook("qemu-ifup-bridge", "vm0", { KVMNET_VERBOSE: "1" });
      expect(r.code, r.stderr).toBe(0);
      // The bridge was made and has kvmnet's alias by then: the move is finished, not undone and made again.
      expect(r.stderr).toMatch(/an earlier move of the uplink was cut off; finishing it/);
      const br = lab.bridge;
      expect((await h.sh(`ls /sys/class/net/${br}/brif`)).split("\n").sort()).toEqual(["up0", "vm0"]);
      expect(await h.sh("ip -4 -o addr show dev up0")).toBe("");
      expect(await h.sh(`ip -4 -o addr show dev ${br} | awk '{print $4}'`)).toBe(`${HOST_UP}/24`);
      expect(await h.sh("ip -4 route show default")).toBe(`default via ${OUTSIDE} dev ${br} `);
      expect(await h.sh(`ls ${lab.conf.stateDir}`)).toBe("");
      expect(await pings(h, OUTSIDE)).toBe(true);
      expect(await pings(lab.guests[0]!, OUTSIDE)).toBe(true);
    },
  );
});
