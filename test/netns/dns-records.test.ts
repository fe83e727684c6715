// DHCP options, DNS records and forwarders with real dnsmasq: options seen in a guest's lease, SRV/TXT/CNAME/PTR
// answers to a resolver in a guest namespace, and an upstream in an "outside" namespace that alone knows a name.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, OUTSIDE, type Lab } from "../helpers/lab.js";
import type { Netns } from "../helpers/netns.js";

let lab: Lab;
let stopOutside: (() => void) | null = null;
afterEach(async () => {
  stopOutside?.();
  stopOutside = null;
  await lab?.destroy();
});

// The lease as udhcpc saw it, asking for the NTP servers (42) and classless static routes (121).
async function lease(g: Netns): Promise<Record<string, string> | null> {
  const script = join(lab.conf.dir, "udhcpc-opts.sh");
  writeFileSync(
    script,
    `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"
    echo "LEASE ip=$ip dns=$dns ntpsrv=$ntpsrv staticroutes=$staticroutes" ;;
esac
`,
  );
  chmodSync(script, 0o755);
  const args = ["udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "6", "-T", "1", "-s", script];
  const r = await g.tryRun("busybox", [...args, "-O", "ntpsrv", "-O", "staticroutes"], { timeout: 30_000 });
  const m = /LEASE ip=(\S*) dns=(.*) ntpsrv=(.*) staticroutes=(.*)$/m.exec(String(r.stdout));
  return m ? { ip: m[1]!, dns: m[2]!.trim(), ntpsrv: m[3]!.trim(), staticroutes: m[4]!.trim() } : null;
}

// A DNS server in the outside namespace (its own dnsmasq, config and pid file) that alone knows one name.
async function startOutsideDns(): Promise<() => void> {
  const conf = join(lab.conf.dir, "outside.conf");
  const pidFile = join(lab.conf.dir, "outside.pid");
  writeFileSync(
    conf,
    `port=53\nlisten-address=${OUTSIDE}\nbind-interfaces\nno-resolv\nno-hosts\npid-file=${pidFile}\n` +
      "address=/only-outside.example/198.51.100.77\n" +
      // A reverse name in the guests' subnet: seen by a guest only if kvmnet's dnsmasq forwarded the query.
      "ptr-record=77.2.0.192.in-addr.arpa,leaked.example\n",
  );
  await lab.outside.run("dnsmasq", [`--conf-file=${conf}`]);
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  return () => {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* gone */
    }
  };
}

const nslookup = async (g: Netns, args: string) =>
  String((await g.tryRun("sh", ["-c", `busybox nslookup ${args} 192.0.2.1`], { timeout: 20_000 })).stdout);

describe("dns records, forwarders and dhcp options", () => {
  it("hands out the options, answers SRV, TXT, CNAME and PTR, and forwards to dns_forwarders only", async () => {
    lab = await makeLab({
      section: (br) =>
        natSection(
          br,
          [
            "host.web = 52:54:00:88:88:88,192.0.2.10",
            "domain = lab.example",
            `dns_forwarders = ${OUTSIDE}`,
            "dns_srv._ldap._tcp = web.lab.example,389,10,5",
            'dns_txt.info.lab.example = "hello from kvmnet, lab"',
            "dns_cname.www.lab.example = web.lab.example",
            "dhcp_option.ntp-server = 192.0.2.5, 192.0.2.6",
            "dhcp_option.121 = 198.51.100.0/24,192.0.2.1, 0.0.0.0/0,192.0.2.1",
            "",
          ].join("\n"),
        ),
    });
    stopOutside = await startOutsideDns();
    const web = await lab.addGuest("vm0", "52:54:00:88:88:88");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    const l = await lease(web);
    expect(l).toMatchObject({ ip: "192.0.2.10", dns: "192.0.2.1", ntpsrv: "192.0.2.5 192.0.2.6" });
    expect(l!.staticroutes).toBe("198.51.100.0/24 192.0.2.1 0.0.0.0/0 192.0.2.1");

    const srv = await nslookup(web, "-type=srv _ldap._tcp.lab.example");
    expect(srv).toMatch(/10 5 389 web\.lab\.example/);
    expect(await nslookup(web, "-type=txt info.lab.example")).toContain("hello from kvmnet, lab");
    const cname = await nslookup(web, "www.lab.example");
    expect(cname).toMatch(/canonical name = web\.lab\.example/);
    expect(cname).toMatch(/Address:\s*192\.0\.2\.10\b/);
    expect(await nslookup(web, "192.0.2.10")).toMatch(/name = web\.lab\.example/);
    // Only the outside server knows this name: the answer came through the forwarder.
    expect(await nslookup(web, "only-outside.example")).toMatch(/Address:\s*198\.51\.100\.77\b/);
    // Reverse lookups in the subnet stay local: an address no guest has is not asked upstream.
    const nobody = await nslookup(web, "192.0.2.77");
    expect(nobody).not.toContain("leaked.example");
    expect(nobody).toMatch(/NXDOMAIN|can't find/i);

    // Another NTP server: dnsmasq re-reads its optsfile (SIGHUP), the same process hands out the new option.
    const pidFile = join(lab.conf.stateDir, "nat0.dnsmasq.pid");
    const pid = readFileSync(pidFile, "utf8").trim();
    writeFileSync(lab.conf.file, readFileSync(lab.conf.file, "utf8").replace("192.0.2.5, 192.0.2.6", "192.0.2.7"));
    const again = await lab.hook("qemu-natup", "vm0");
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(pidFile, "utf8").trim()).toBe(pid);
    expect((await lease(web))?.ntpsrv).toBe("192.0.2.7");
  });
});
