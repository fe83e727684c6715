// A changed firewall rule takes effect on `kvmnet up` without restarting a guest: connections already open stay
// open, except those the new rule forbids, which are cut at once; and a rule taken away lets its flows in again.
// web (nat, guest 192.0.2.10) connects out to a side host (198.51.100.2); the side host connects in to db (routed,
// guest 192.0.2.70).
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, SIDE, type Lab } from "./models-lab.js";
import { upAll, webDbBody, withRules } from "./acl-lab.js";
import { connects, openConnection, startPorts } from "../helpers/tcp-ports.js";

const WEB = "192.0.2.10";
const DB = "192.0.2.70";

describe("firewall rules changed on kvmnet up", () => {
  let lab: Lab | undefined;
  const stops: (() => void)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) s();
    await lab?.destroy();
    lab = undefined;
  });

  const up = () => upAll(lab!);

  it(
    "only the connections a new rule forbids are cut; established ones survive the change",
    {
      timeout: 300_000,
    },
    async () => {
      lab = await makeLab({ firewall: "nftables", side: true, body: webDbBody });
      const web = await lab.addGuest("vmw", `${WEB}/26`);
      const db = await lab.addGuest("vmd", `${DB}/26`);
      for (const [tap, net] of [
        ["vmw", "web"],
        ["vmd", "db"],
      ] as const)
        expect((await lab.hook("qemu-ifup", tap, { KVMNET_NETWORK: net })).code).toBe(0);
      await web.sh("ip route add default via 192.0.2.1");
      await db.sh("ip route add default via 192.0.2.65");
      await lab.side!.sh("ip route add 192.0.2.64/26 via 198.51.100.1");
      stops.push(await startPorts(lab.side!, [25, 80]), await startPorts(db, [22, 80]));
      const base = readFileSync(lab.conf.file, "utf8");

      // Before any rule: four connections open and echoing.
      const webSmtp = await openConnection(web, SIDE, 25);
      const webHttp = await openConnection(web, SIDE, 80);
      const sideSsh = await openConnection(lab.side!, DB, 22);
      const sideHttp = await openConnection(lab.side!, DB, 80);
      stops.push(webSmtp.close, webHttp.close, sideSsh.close, sideHttp.close);
      for (const c of [webSmtp, webHttp, sideSsh, sideHttp]) expect(await c.echo("before")).toBe(true);

      // New rules: web may not send mail; only ssh from the side's prefix may come into db.
      writeFileSync(
        lab.conf.file,
        withRules(base, { web: "deny_out.smtp = tcp/25\n", db: "allow_in.ssh = tcp/22 from 198.51.100.0/24\n" }),
      );
      expect(await up()).toMatch(/web: up \(1 step\)\s+db: up \(1 step\)/);
      expect(await webHttp.echo("after")).toBe(true);
      expect(await sideSsh.echo("after")).toBe(true);
      expect(await webSmtp.echo("after")).toBe(false);
      expect(await sideHttp.echo("after")).toBe(false);
      // New connections as the rules say.
      expect(await connects(web, SIDE, 25)).toBe(false);
      expect(await connects(lab.side!, DB, 80)).toBe(false);
      expect(await connects(lab.side!, DB, 22)).toBe(true);
      // Up again: nothing changes, and the open connections still echo.
      expect(await up()).not.toMatch(/step/);
      expect(await webHttp.echo("again")).toBe(true);
      expect(await sideSsh.echo("again")).toBe(true);

      // The rules taken away: their flows pass again, and the rules' chains and counters are gone.
      writeFileSync(lab.conf.file, base);
      await up();
      expect(await connects(web, SIDE, 25)).toBe(true);
      expect(await connects(lab.side!, DB, 80)).toBe(true);
      expect(await webHttp.echo("end")).toBe(true);
      const table = await lab.host.sh("nft list table inet kvmnet");
      expect(table).not.toMatch(/chain acl-|jump acl-|counter acl-/);
    },
  );
});
