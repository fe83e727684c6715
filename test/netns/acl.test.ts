// Firewall rules (ACLs), each tried from both sides with real TCP connections, against a control: the same lab
// without the rules. Two networks: web (nat, guest 192.0.2.10) and db (routed over up0, guest 192.0.2.70); an
// outside host beyond up0 (203.0.113.2) and a side host on another NIC (198.51.100.2), both routing 192.0.2.64/26
// back through the host.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, OUTSIDE, SIDE, type Lab } from "./models-lab.js";
import { connects, startPorts } from "../helpers/tcp-ports.js";

const WEB = "192.0.2.10";
const DB = "192.0.2.70";
const PORTS = [22, 23, 25, 80, 5432, 5433];

const RULES = {
  web: "deny_out.smtp = tcp/25\ndeny_out.docs = to 203.0.113.0/24\n",
  db: "allow_in.pg = tcp/5432 from web\nallow_in.ssh = tcp/22 from 198.51.100.0/24\n",
};

const body = (rules: boolean) => (br: string) =>
  `[web]\nmode = nat\nbridge = ${br}w\naddress = 192.0.2.1/26\n${rules ? RULES.web : ""}\n` +
  `[db]\nmode = routed\nbridge = ${br}d\naddress = 192.0.2.65/26\nuplink = up0\n${rules ? RULES.db : ""}`;

// Every flow the rules speak of, from each side, and the nearest flows they do not.
async function flows(lab: Lab) {
  const [web, db] = lab.guests as [(typeof lab.guests)[0], (typeof lab.guests)[0]];
  const side = lab.side!;
  return {
    // db: allow_in.pg
    webToDbPg: await connects(web, DB, 5432),
    webToDbOtherPort: await connects(web, DB, 5433),
    dbToWebPg: await connects(db, WEB, 5432),
    sideToDbPg: await connects(side, DB, 5432),
    // db: allow_in.ssh
    sideToDbSsh: await connects(side, DB, 22),
    sideToDbOtherPort: await connects(side, DB, 23),
    outsideToDbSsh: await connects(lab.outside, DB, 22),
    dbToOutsideSsh: await connects(db, OUTSIDE, 22),
    // web: deny_out.smtp
    webToSideSmtp: await connects(web, SIDE, 25),
    webToSideHttp: await connects(web, SIDE, 80),
    dbToOutsideSmtp: await connects(db, OUTSIDE, 25),
    // web: deny_out.docs
    webToOutsideHttp: await connects(web, OUTSIDE, 80),
    dbToOutsideHttp: await connects(db, OUTSIDE, 80),
  };
}

async function setUp(rules: boolean): Promise<{ lab: Lab; stops: (() => void)[] }> {
  const lab = await makeLab({ firewall: "nftables", side: true, body: body(rules) });
  const web = await lab.addGuest("vmw", `${WEB}/26`);
  const db = await lab.addGuest("vmd", `${DB}/26`);
  for (const [tap, net] of [
    ["vmw", "web"],
    ["vmd", "db"],
  ] as const) {
    const r = await lab.hook("qemu-ifup", tap, { KVMNET_NETWORK: net });
    expect(r.code, r.stderr).toBe(0);
  }
  await web.sh("ip route add default via 192.0.2.1");
  await db.sh("ip route add default via 192.0.2.65");
  await lab.outside.sh("ip route add 192.0.2.64/26 via 203.0.113.1");
  await lab.side!.sh("ip route add 192.0.2.64/26 via 198.51.100.1");
  const stops = [];
  for (const ns of [web, db, lab.outside, lab.side!]) stops.push(await startPorts(ns, PORTS));
  return { lab, stops };
}

describe("firewall rules (ACLs), nftables", () => {
  let lab: Lab | undefined;
  let stops: (() => void)[] = [];
  afterEach(async () => {
    for (const s of stops) s();
    stops = [];
    await lab?.destroy();
    lab = undefined;
  });

  it("control: without rules, the modes alone decide", { timeout: 300_000 }, async () => {
    ({ lab, stops } = await setUp(false));
    expect(await flows(lab)).toEqual({
      webToDbPg: false, // networks are closed to each other
      webToDbOtherPort: false,
      dbToWebPg: false,
      sideToDbPg: false, // routed over up0: only from up0
      sideToDbSsh: false,
      sideToDbOtherPort: false,
      outsideToDbSsh: true,
      dbToOutsideSsh: true,
      webToSideSmtp: true,
      webToSideHttp: true,
      dbToOutsideSmtp: true,
      webToOutsideHttp: true,
      dbToOutsideHttp: true,
    });
  });

  it(
    "with rules: what they allow passes, what they deny is refused, the rest as the modes say",
    {
      timeout: 300_000,
    },
    async () => {
      ({ lab, stops } = await setUp(true));
      expect(await flows(lab)).toEqual({
        webToDbPg: true, // allow_in.pg opens web -> db tcp/5432
        webToDbOtherPort: false,
        dbToWebPg: false, // not the other way round
        sideToDbPg: false, // from web only
        sideToDbSsh: true, // allow_in.ssh: tcp/22 from 198.51.100.0/24, even off the uplink
        sideToDbOtherPort: false,
        outsideToDbSsh: false, // db's allow_in rules: nothing else may come in
        dbToOutsideSsh: true, // db's own connections out are not "in"
        webToSideSmtp: false, // deny_out.smtp
        webToSideHttp: true,
        dbToOutsideSmtp: true, // web's rules are web's
        webToOutsideHttp: false, // deny_out.docs
        dbToOutsideHttp: true,
      });
      // Each rule counted what it matched; the refusals of db's allow rules count in "in-other".
      const m = await lab.host.run("node", [`${process.cwd()}/dist/kvmnet.cjs`, "metrics"], {
        env: { KVMNET_CONFIG: lab.conf.file },
      });
      const count = (net: string, rule: string) =>
        Number(
          new RegExp(`kvmnet_rule_packets_total\\{network="${net}",rule="${rule.replace(".", "\\.")}"\\} (\\d+)`).exec(
            String(m.stdout),
          )?.[1] ?? -1,
        );
      for (const [net, rule] of [
        ["db", "allow_in.pg"],
        ["db", "allow_in.ssh"],
        ["db", "in-other"],
        ["web", "deny_out.smtp"],
        ["web", "deny_out.docs"],
      ])
        expect(count(net!, rule!), `${net} ${rule}`).toBeGreaterThan(0);
    },
  );
});
