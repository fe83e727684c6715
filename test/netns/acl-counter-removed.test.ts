// A firewall rule taken out of the config takes its named counter with it on `kvmnet up` (and in any later
// transaction of the network), while the counters of the rules still configured stay.
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, type Lab } from "./models-lab.js";
import { upAll, webDbBody, withRules } from "./acl-lab.js";

describe("the counter of a firewall rule taken out of the config", () => {
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  const up = () => upAll(lab!);
  const counters = async () =>
    (await lab!.host.sh("nft list counters table inet kvmnet"))
      .split("\n")
      .map((l) => /^\s*counter (\S+) \{$/.exec(l)?.[1])
      .filter((c): c is string => !!c && c.startsWith("acl-"));

  it("is gone after kvmnet up; the other rules' counters stay", { timeout: 180_000 }, async () => {
    lab = await makeLab({ firewall: "nftables", body: webDbBody });
    const base = readFileSync(lab.conf.file, "utf8");
    const db = "allow_in.ssh = tcp/22 from 198.51.100.0/24\n";
    writeFileSync(lab.conf.file, withRules(base, { web: "deny_out.smtp = tcp/25\ndeny_out.dns = udp/53\n", db }));
    await up();
    expect((await counters()).sort()).toEqual([
      "acl-db.allow_in.ssh",
      "acl-db.in-other",
      "acl-web.deny_out.dns",
      "acl-web.deny_out.smtp",
    ]);

    writeFileSync(lab.conf.file, withRules(base, { web: "deny_out.smtp = tcp/25\n", db }));
    expect(await up()).toMatch(/web: up \(1 step\)/);
    expect((await counters()).sort()).toEqual(["acl-db.allow_in.ssh", "acl-db.in-other", "acl-web.deny_out.smtp"]);
    // Up again: nothing left to change.
    expect(await up()).not.toMatch(/step/);

    // Every rule of db taken away: its chain and both its counters go, web's stays.
    writeFileSync(lab.conf.file, withRules(base, { web: "deny_out.smtp = tcp/25\n" }));
    await up();
    expect(await counters()).toEqual(["acl-web.deny_out.smtp"]);
  });
});
