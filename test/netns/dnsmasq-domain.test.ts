// The domain key with real dnsmasq: guests get the domain (DHCP options 15 and 119) and resolve other guests as
// NAME.DOMAIN, which is what systemd-resolved guests ask (they never send single-label names to unicast DNS).
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import type { Netns } from "../helpers/netns.js";

let lab: Lab;
afterEach(async () => await lab?.destroy());

// udhcpc's view of a lease: what it exports to its script (busybox: $domain for option 15, $search for 119,
// which it asks for only with -O search, as systemd-networkd and dhclient do by default).
async function lease(g: Netns, hostname?: string): Promise<Record<string, string> | null> {
  const script = join(lab.conf.dir, "udhcpc-domain.sh");
  writeFileSync(
    script,
    `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"
    echo "LEASE ip=$ip domain=$domain search=$search" ;;
esac
`,
  );
  chmodSync(script, 0o755);
  const args = [
    "udhcpc",
    "-i",
    "eth0",
    "-n",
    "-q",
    "-f",
    "-t",
    "6",
    "-T",
    "1",
    "-s",
    script,
    "-O",
    "search",
    ...(hostname ? ["-x", `hostname:${hostname}`] : []),
  ];
  const m = /LEASE ip=(\S*) domain=(\S*) search=(\S*)/.exec(
    String((await g.tryRun("busybox", args, { timeout: 30_000 })).stdout),
  );
  return m ? { ip: m[1]!, domain: m[2]!, search: m[3]! } : null;
}

describe("domain", () => {
  it("a guest gets the domain in its lease and resolves web.DOMAIN and other guests' DHCP names under it", async () => {
    lab = await makeLab({
      section: (br) => natSection(br, "host.web = 52:54:00:88:88:88,192.0.2.10\ndomain = lab.example\n"),
    });
    const web = await lab.addGuest("vm0", "52:54:00:88:88:88");
    const pc = await lab.addGuest("vm1");
    for (const tap of ["vm0", "vm1"]) {
      const r = await lab.hook("qemu-natup", tap);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await lease(web)).toEqual({ ip: "192.0.2.10", domain: "lab.example", search: "lab.example" });
    const l = await lease(pc, "pc1");
    expect(l?.domain).toBe("lab.example");
    expect(await pc.sh("busybox nslookup web.lab.example 192.0.2.1")).toMatch(/Address:\s*192\.0\.2\.10\b/);
    // A DHCP client's own name, under the domain too (expand-hosts covers addn-hosts; domain= covers leases).
    expect(await web.sh("busybox nslookup pc1.lab.example 192.0.2.1")).toContain(l!.ip);
    // The plain name still works for resolvers that send it.
    expect(await pc.sh("busybox nslookup web 192.0.2.1")).toMatch(/192\.0\.2\.10/);
  });
});
