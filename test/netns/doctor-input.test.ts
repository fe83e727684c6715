// kvmnet doctor sees a host firewall whose input policy drops guests' DHCP (issue 9: guests got no lease and
// doctor exited 0), with a real guest as the control: no lease while it is there, a lease after the fix.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

interface Check {
  id: string;
  level: string;
  message: string;
  fix?: string;
  networks?: string[];
}

async function doctor(lab: Lab) {
  const r = await lab.host.tryRun(process.execPath, [program("kvmnet"), "doctor", "--json"], {
    env: { KVMNET_CONFIG: lab.conf.file },
  });
  const checks = JSON.parse(String(r.stdout)).checks as Check[];
  return { code: r.exitCode, input: checks.filter((c) => c.id === "input-drop") };
}

describe("doctor: an input chain with policy drop", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it.each([
    [
      "nft",
      "nft add table inet hostfw && nft add chain inet hostfw input '{ type filter hook input priority 0; policy drop; }'",
      "inet hostfw chain input",
    ],
    ["iptables", "iptables -P INPUT DROP", "ip filter chain INPUT"],
  ])(
    "%s: guests get no lease, doctor fails naming the chain; its fix brings the lease back",
    async (_tool, setup, where) => {
      lab = await makeLab();
      await lab.host.sh("echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables");
      const g = await lab.addGuest("vm0");
      expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
      expect(await doctor(lab)).toMatchObject({ code: 0, input: [{ level: "ok" }] });
      await lab.host.sh(setup);
      expect(await lab.dhcp(g)).toBeNull();
      const d = await doctor(lab);
      expect(d.code).toBe(1);
      expect(d.input).toHaveLength(1);
      expect(d.input[0]).toMatchObject({ level: "fail", networks: ["nat0"] });
      expect(d.input[0]!.message).toMatch(
        new RegExp(`^${where} has policy drop: DHCP and DNS from the guests of nat0`),
      );
      const fixes = d.input[0]!.fix!.replace(/^[^:]*: /, "")
        .split("; ")
        .filter((x) => /^(nft|iptables) /.test(x));
      expect(fixes.length).toBe(2);
      for (const cmd of fixes) await lab.host.sh(cmd);
      expect(await doctor(lab)).toMatchObject({ code: 0, input: [{ level: "ok" }] });
      expect((await lab.dhcp(g))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    },
  );

  it("with firewall = iptables, kvmnet's own INPUT jump comes first: iptables -P INPUT DROP breaks nothing", async () => {
    lab = await makeLab({ firewall: "iptables" });
    const g = await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    await lab.host.sh("iptables -P INPUT DROP");
    expect(await doctor(lab)).toMatchObject({ code: 0, input: [{ level: "ok" }] });
    expect((await lab.dhcp(g))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
  });
});
