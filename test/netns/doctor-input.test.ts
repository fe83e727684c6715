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

function doctor(lab: Lab) {
  const r = lab.host.tryRun(process.execPath, [program("kvmnet"), "doctor", "--json"], {
    env: { KVMNET_CONFIG: lab.conf.file },
  });
  const checks = JSON.parse(String(r.stdout)).checks as Check[];
  return { code: r.exitCode, input: checks.filter((c) => c.id === "input-drop") };
}

describe("doctor: an input chain with policy drop", () => {
  let lab: Lab;
  afterEach(() => lab?.destroy());

  it.each([
    [
      "nft",
      "nft add table inet hostfw && nft add chain inet hostfw input '{ type filter hook input priority 0; policy drop; }'",
      "inet hostfw chain input",
    ],
    ["iptables", "iptables -P INPUT DROP", "ip filter chain INPUT"],
  ])("%s: guests get no lease, doctor fails naming the chain; its fix brings the lease back", (_tool, setup, where) => {
    lab = makeLab();
    lab.host.sh("echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables");
    const g = lab.addGuest("vm0");
    expect(lab.hook("qemu-natup", "vm0").code).toBe(0);
    expect(doctor(lab)).toMatchObject({ code: 0, input: [{ level: "ok" }] });
    lab.host.sh(setup);
    expect(lab.dhcp(g)).toBeNull();
    const d = doctor(lab);
    expect(d.code).toBe(1);
    expect(d.input).toHaveLength(1);
    expect(d.input[0]).toMatchObject({ level: "fail", networks: ["nat0"] });
    expect(d.input[0]!.message).toMatch(new RegExp(`^${where} has policy drop: DHCP and DNS from the guests of nat0`));
    const fixes = d.input[0]!.fix!.replace(/^[^:]*: /, "")
      .split("; ")
      .filter((x) => /^(nft|iptables) /.test(x));
    expect(fixes.length).toBe(2);
    for (const cmd of fixes) lab.host.sh(cmd);
    expect(doctor(lab)).toMatchObject({ code: 0, input: [{ level: "ok" }] });
    expect(lab.dhcp(g)?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
  });

  it("with firewall = iptables, kvmnet's own INPUT jump comes first: iptables -P INPUT DROP breaks nothing", () => {
    lab = makeLab({ firewall: "iptables" });
    const g = lab.addGuest("vm0");
    expect(lab.hook("qemu-natup", "vm0").code).toBe(0);
    lab.host.sh("iptables -P INPUT DROP");
    expect(doctor(lab)).toMatchObject({ code: 0, input: [{ level: "ok" }] });
    expect(lab.dhcp(g)?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
  });
});
