// dns = no: the network's dnsmasq runs DHCP only. Nothing listens on port 53 of the bridge address, guests get
// no DNS server in their lease unless dhcp_option.dns-server names one (another resolver serves them).
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

let lab: Lab;
afterEach(async () => await lab?.destroy());

describe("dns = no", () => {
  it("gives leases with no DNS on port 53, and the DNS server of dhcp_option.dns-server when set", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "dns = no\nhost.web = 52:54:00:88:88:88,192.0.2.10\n") });
    const g = await lab.addGuest("vm0", "52:54:00:88:88:88");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    const l = await lab.dhcp(g);
    expect(l).toEqual({ ip: "192.0.2.10", router: "192.0.2.1", dns: "" });
    const listening = await lab.host.sh("ss -Hlnup; ss -Hlntp");
    expect(listening).toContain("dnsmasq"); // DHCP on 67 is served by it
    expect(listening).not.toMatch(/:53\s/);
    const q = await g.tryRun("busybox", ["nslookup", "web", "192.0.2.1"], { timeout: 20_000 });
    expect(q.exitCode).not.toBe(0);
    const status = await lab.host.tryRun(process.execPath, [program("kvmnet"), "status", "nat0"], {
      env: { KVMNET_CONFIG: lab.conf.file, NO_COLOR: "1" },
      timeout: 60_000,
    });
    expect(String(status.stdout)).toContain("  dns       off (DHCP only, nothing on port 53)\n");
    // Another resolver on port 53 of the bridge address is what dns = no is for: doctor does not object.
    const resolver = lab.host.spawn(process.execPath, [
      "-e",
      "require('net').createServer().listen(53,'192.0.2.1',()=>console.log('ready'))",
    ]);
    try {
      await new Promise<void>((resolve) => resolver.stdout!.once("data", () => resolve()));
      const doctor = await lab.host.tryRun(process.execPath, [program("kvmnet"), "doctor", "--json"], {
        env: { KVMNET_CONFIG: lab.conf.file },
        timeout: 60_000,
      });
      const ports = (JSON.parse(String(doctor.stdout)).checks as { id: string; level: string }[]).filter(
        (c) => c.id === "ports",
      );
      expect(ports).toEqual([expect.objectContaining({ level: "ok" })]);
    } finally {
      resolver.kill("SIGTERM");
      await resolver;
    }

    // Another resolver for the guests: handed out as option 6 (a config change: dnsmasq restarts, lease kept).
    const { writeFileSync, readFileSync } = await import("node:fs");
    const text = readFileSync(lab.conf.file, "utf8");
    writeFileSync(lab.conf.file, text.replace("dns = no\n", "dns = no\ndhcp_option.dns-server = 198.51.100.53\n"));
    const up = await lab.hook("qemu-natup", "vm0");
    expect(up.code, up.stderr).toBe(0);
    expect(await lab.dhcp(g)).toEqual({ ip: "192.0.2.10", router: "192.0.2.1", dns: "198.51.100.53" });
  });
});
