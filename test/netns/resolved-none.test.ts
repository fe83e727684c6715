// A network with a domain on a host without systemd-resolved (a network namespace has none): kvmnet changes nothing of
// the host's resolver and plans no resolvectl step; doctor says how to get the host to resolve the guests by other
// means; and the network's dnsmasq answers the subnet's reverse zone itself. Its upstream is the host's resolv.conf
// (here, through `ip netns exec`, /etc/netns/NS/resolv.conf: a server in the outside namespace that knows a PTR in
// the guests' subnet): on a host with systemd-resolved that upstream is resolved, which sends the zone back to this
// dnsmasq, a loop. The real resolved is in test/vm/resolved.test.ts.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, OUTSIDE, type Lab } from "../helpers/lab.js";
import { program, type Netns } from "../helpers/netns.js";

let lab: Lab | undefined;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await lab?.destroy();
});

async function kvmnet(ns: Netns, file: string, args: string[]) {
  const r = await ns.tryRun(process.execPath, [program("kvmnet"), ...args], {
    env: { KVMNET_CONFIG: file },
    timeout: 60_000,
  });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

const nslookup = async (g: Netns, what: string) =>
  String((await g.tryRun("sh", ["-c", `busybox nslookup ${what} 192.0.2.1`], { timeout: 20_000 })).stdout);

describe("a network with a domain, without systemd-resolved", () => {
  it("plans no resolvectl, doctor says how, and dnsmasq keeps the subnet's reverse zone to itself", async () => {
    lab = await makeLab({
      section: (br) => natSection(br, "host.web = 52:54:00:88:88:88,192.0.2.10\ndomain = lab.example\n"),
    });
    // The host namespace's resolv.conf (what kvmnet's dnsmasq forwards to) names the outside server.
    const etc = `/etc/netns/${lab.host.name}`;
    mkdirSync(etc, { recursive: true });
    cleanups.push(() => rmSync(etc, { recursive: true, force: true }));
    writeFileSync(join(etc, "resolv.conf"), `nameserver ${OUTSIDE}\n`);
    const conf = join(lab.conf.dir, "outside.conf");
    const pidFile = join(lab.conf.dir, "outside.pid");
    writeFileSync(
      conf,
      `port=53\nlisten-address=${OUTSIDE}\nbind-interfaces\nno-resolv\nno-hosts\npid-file=${pidFile}\n` +
        "address=/only-outside.example/198.51.100.77\nptr-record=77.2.0.192.in-addr.arpa,leaked.example\n",
    );
    await lab.outside.run("dnsmasq", [`--conf-file=${conf}`]);
    const outsidePid = Number(readFileSync(pidFile, "utf8").trim());
    cleanups.push(() => {
      try {
        process.kill(outsidePid, "SIGTERM");
      } catch {
        /* gone */
      }
    });

    const up = await kvmnet(lab.host, lab.conf.file, ["up", "nat0", "--verbose"]);
    expect(up.code, up.err).toBe(0);
    expect(up.out).not.toMatch(/resolvectl/);
    const web = await lab.addGuest("vm0", "52:54:00:88:88:88");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");

    // The outside server is dnsmasq's upstream: a name only it knows comes through.
    expect(await nslookup(web, "only-outside.example")).toMatch(/Address:\s*198\.51\.100\.77\b/);
    // Reverse lookups in the subnet: a guest's address answers its name, an address no guest has is not asked upstream.
    expect(await nslookup(web, "192.0.2.10")).toMatch(/name = web\.lab\.example/);
    const nobody = await nslookup(web, "192.0.2.77");
    expect(nobody).not.toContain("leaked.example");
    expect(nobody).toMatch(/NXDOMAIN|can't find/i);

    const d = await kvmnet(lab.host, lab.conf.file, ["doctor", "--json"]);
    const found = (JSON.parse(d.out).checks as { id: string; level: string; message: string; fix?: string }[]).filter(
      (x) => x.id === "resolved",
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ level: "warn" });
    expect(found[0]!.message).toMatch(
      /systemd-resolved does not run: the host itself does not resolve NAME\.lab\.example/,
    );
    expect(found[0]!.fix).toContain("server=/lab.example/192.0.2.1 server=/2.0.192.in-addr.arpa/192.0.2.1");
    expect(found[0]!.fix).toContain("192.0.2.10 web.lab.example web");
    expect((await kvmnet(lab.host, lab.conf.file, ["plan", "nat0"])).out).not.toMatch(/resolvectl/);
  });
});
