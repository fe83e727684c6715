// Many VMs at once on a cold network, and a natup killed with SIGKILL at any point.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";
import { renderNft } from "../../src/firewall/nft/render.js";
import { nftTableView } from "../../src/firewall/nft/script.js";
import { IPT_FIXED, IPT_JUMPS, renderIptables } from "../../src/firewall/iptables/render.js";
import { parseConfig } from "../../src/config/validate.js";
import { readdirSync, readFileSync } from "node:fs";

/** pids of live dnsmasq processes started with this lab's config file (read from /proc, not by name). */
function dnsmasqPids(lab: Lab): number[] {
  const conf = `--conf-file=${lab.conf.stateDir}/nat0.dnsmasq.conf`;
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
        return argv[0]!.endsWith("dnsmasq") && argv.includes(conf);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The nft table kvmnet should have made for this lab (its only network). */
function wantedTable(lab: Lab): string {
  return nftTableView(renderNft(parseConfig(lab.conf.file, readFileSync(lab.conf.file, "utf8")).networks[0]!)!);
}

/** kvmnet's lines in iptables-save, sorted: its chains' rules and the jumps to them (one copy of each). */
async function kvmnetRules(lab: Lab): Promise<string> {
  return (await lab.host.sh("iptables-save | grep -E '^-A' | grep KVMNET")).split("\n").sort().join("\n");
}

/** What kvmnetRules should be: the network's chains and dispatch entries, the shared chains' fixed rules and
 *  one jump from each built-in chain, sorted. */
function wantedRules(lab: Lab): string {
  const want = renderIptables(parseConfig(lab.conf.file, readFileSync(lab.conf.file, "utf8")).networks[0]!)!;
  const jumps = [...IPT_JUMPS.filter, ...IPT_JUMPS.nat].map(([b, ch]) => `-A ${b} -j ${ch}`);
  return [
    ...jumps,
    ...Object.values(IPT_FIXED).flat(),
    ...want.entries.map((e) => e.rule),
    ...Object.values(want.chains.filter).flat(),
    ...Object.values(want.chains.nat).flat(),
  ]
    .sort()
    .join("\n");
}

const norm = (t: string) =>
  t
    .split("\n")
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .join("\n");

describe("NAT under load and under SIGKILL", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it.each(["nftables", "iptables"] as const)(
    "50 concurrent natups on a cold network (%s): one dnsmasq, the single-natup ruleset, every tap attached",
    async (firewall) => {
      lab = await makeLab({ firewall });
      const taps = Array.from({ length: 50 }, (_, i) => `vm${i}`);
      await lab.host.sh(taps.map((t) => `ip tuntap add ${t} mode tap`).join(" && "));
      const runs = await Promise.all(
        taps.map((t) => lab.host.spawn(program("qemu-natup"), [t], { env: { KVMNET_CONFIG: lab.conf.file } })),
      );
      for (const r of runs) expect(r.exitCode, String(r.stderr)).toBe(0);
      expect((await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif | sort`)).split("\n")).toEqual([...taps].sort());
      expect(dnsmasqPids(lab)).toHaveLength(1);
      if (firewall === "nftables") expect(norm(await lab.host.sh("nft list ruleset"))).toBe(norm(wantedTable(lab)));
      else expect(await kvmnetRules(lab)).toBe(wantedRules(lab));
      expect(await lab.host.sh("ip -4 -o addr show | grep -c 192.0.2.1/24")).toBe("1");
    },
    180_000,
  );

  it("natup killed with SIGKILL at any point, then run again, converges", async () => {
    lab = await makeLab({
      section: (br) => natSection(br, "teardown = when-idle\nhost.web = 52:54:00:88:88:88,192.0.2.10\n"),
    });
    await lab.host.sh("ip tuntap add vm0 mode tap");
    const env = { KVMNET_CONFIG: lab.conf.file };
    for (const delay of [0, 10, 25, 40, 55, 70, 85, 100, 120, 140, 170, 200, 250]) {
      const child = lab.host.spawn(program("qemu-natup"), ["vm0"], { env });
      await new Promise((r) => setTimeout(r, delay));
      child.kill("SIGKILL");
      await child;
      const again = await lab.hook("qemu-natup", "vm0");
      expect(again.code, `after a kill at ${delay} ms: ${again.stderr}`).toBe(0);
      expect(await lab.host.sh("cat /sys/class/net/vm0/master/uevent | grep INTERFACE"), `delay ${delay}`).toBe(
        `INTERFACE=${lab.bridge}`,
      );
      expect(norm(await lab.host.sh("nft list ruleset")), `delay ${delay}`).toBe(norm(wantedTable(lab)));
      expect(dnsmasqPids(lab), `delay ${delay}`).toHaveLength(1);
      expect(await lab.host.sh(`ip -4 -o addr show dev ${lab.bridge}`)).toMatch(/192\.0\.2\.1\/24/);
      // A third run finds nothing to do.
      expect((await lab.hook("qemu-natup", "vm0", { KVMNET_VERBOSE: "1" })).stderr, `delay ${delay}`).toBe("");
      // Tear down (when-idle) so the next round starts cold.
      expect((await lab.hook("qemu-natdown", "vm0")).code).toBe(0);
      expect(dnsmasqPids(lab)).toHaveLength(0);
      expect(await lab.host.sh("nft list ruleset")).toBe("");
    }
  }, 300_000);
});
