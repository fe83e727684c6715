// dnsmasq re-reads its hostsfile and addn-hosts as nobody: a state_dir it cannot reach would silently drop the
// static leases and names. kvmnet refuses that before changing anything, and status and doctor see it on a running
// network. The lease file is opened by dnsmasq as root: a lease_dir under a root-only directory just works.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program, stopDnsmasqIn } from "../helpers/netns.js";

let lab: Lab;
let moved: string | null = null;
afterEach(async () => {
  if (moved) stopDnsmasqIn(moved); // a state_dir outside the lab's own (only if a refusal failed)
  moved = null;
  if (lab) chmodSync(lab.conf.dir, 0o755);
  await lab?.destroy();
});

const WEB = "host.web = 52:54:00:88:88:88,192.0.2.10\n";

async function kvmnet(args: string[]) {
  const r = await lab.host.tryRun(program("kvmnet"), args, { env: { KVMNET_CONFIG: lab.conf.file }, timeout: 60_000 });
  return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}` };
}

// Point state_dir and lease_dir of the lab's config at DIRS (under the lab's own directory).
function moveDirs(state: string, lease: string) {
  const text = readFileSync(lab.conf.file, "utf8")
    .replace(/^state_dir = .*$/m, `state_dir = ${state}`)
    .replace(/^lease_dir = .*$/m, `lease_dir = ${lease}`);
  writeFileSync(lab.conf.file, text);
}

describe("files dnsmasq reads as nobody", () => {
  it("state_dir under a directory only root may enter, with static leases: exit 2 naming state_dir's line, nothing changed", async () => {
    lab = await makeLab({ section: (br) => natSection(br, WEB) });
    // A `mktemp -d` parent, as the issue names it: mode 0700, root's.
    const secret = mkdtempSync(join(lab.conf.dir, "secret-"));
    expect(statSync(secret).mode & 0o777).toBe(0o700);
    moveDirs(`${secret}/run`, `${lab.conf.dir}/lib`);
    moved = `${secret}/run`;
    await lab.addGuest("vm0");
    const before = await lab.host.sh("ip -br link; nft list ruleset");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${lab.conf.file}:2: state_dir: ${secret}/run: dnsmasq reads the static leases of network nat0 there`,
    );
    expect(r.stderr).toContain(`${secret} (mode 0700) does not let it in`);
    expect(r.stderr).toMatch(/Fix: set state_dir to .*\/run\/kvmnet.*or chmod o\+x /);
    expect(await lab.host.sh("ip -br link; nft list ruleset")).toBe(before);
    // Only the network's lock (taken before looking): no dnsmasq file written, none started.
    const written = () => readdirSync(`${secret}/run`).filter((f) => f !== ".lock.nat0");
    expect(written()).toEqual([]);
    expect((await kvmnet(["up", "nat0"])).code).toBe(2);
    expect(written()).toEqual([]);
  });

  it("without static leases, and with lease_dir under a root-only directory, DHCP works (dnsmasq opens the lease file as root)", async () => {
    lab = await makeLab();
    const secret = `${lab.conf.dir}/secret`;
    mkdirSync(secret, { mode: 0o700 });
    chmodSync(secret, 0o700);
    moveDirs(`${secret}/run`, `${secret}/lib`);
    const g = await lab.addGuest("vm0");
    try {
      const r = await lab.hook("qemu-natup", "vm0");
      expect(r.code, r.stderr).toBe(0);
      const lease = await lab.dhcp(g);
      expect(lease).not.toBeNull();
      expect(readFileSync(`${secret}/lib/nat0.leases`, "utf8")).toContain(lease!.ip);
    } finally {
      stopDnsmasqIn(`${secret}/run`);
    }
  });

  it("a running network whose state_dir became unreachable: status and doctor say which file and which directory; natup refuses", async () => {
    lab = await makeLab({ section: (br) => natSection(br, WEB) });
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await kvmnet(["status", "nat0"])).out).toContain("as configured");
    chmodSync(lab.conf.dir, 0o700);
    const st = (await kvmnet(["status", "nat0"])).out;
    expect(st).not.toContain("as configured");
    expect(st).toContain(`cannot read ${lab.conf.stateDir}/nat0.hostsfile (${lab.conf.dir} is mode 0700)`);
    expect(st).toContain(`cannot read ${lab.conf.stateDir}/nat0.addnhosts (${lab.conf.dir} is mode 0700)`);
    const doc = await kvmnet(["doctor"]);
    expect(doc.code).toBe(1);
    expect(doc.out).toContain(`cannot read ${lab.conf.stateDir}/nat0.hostsfile (${lab.conf.dir} is mode 0700)`);
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(2);
  });

  it("a hostsfile dnsmasq cannot read for its own mode is written again and re-read: the static lease is honoured", async () => {
    lab = await makeLab({ section: (br) => natSection(br, WEB) });
    const web = await lab.addGuest("vm0", "52:54:00:88:88:88");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const hosts = `${lab.conf.stateDir}/nat0.hostsfile`;
    chmodSync(hosts, 0o600);
    expect((await kvmnet(["status", "nat0"])).out).toContain(`cannot read ${hosts} (it is mode 0600)`);
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await kvmnet(["status", "nat0"])).out).toContain("as configured");
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
  });

  it("static leases with lease_dir under a root-only directory: the guest gets its static address, recorded in the lease file", async () => {
    lab = await makeLab({ section: (br) => natSection(br, WEB) });
    const secret = mkdtempSync(join(lab.conf.dir, "secret-"));
    moveDirs(lab.conf.stateDir, `${secret}/lib`);
    const web = await lab.addGuest("vm0", "52:54:00:88:88:88");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
    expect(readFileSync(`${secret}/lib/nat0.leases`, "utf8")).toMatch(/ 52:54:00:88:88:88 192\.0\.2\.10 /);
  });

  it("an addn-hosts file dnsmasq cannot read for its own mode: the name is lost at its next re-read (control), status says so, natup writes it again and the name resolves", async () => {
    lab = await makeLab({ section: (br) => natSection(br, WEB) });
    // No lease taken: dnsmasq would also answer "web" from the lease it gave; the name must come from addn-hosts.
    const pc = await lab.addGuest("vm0");
    await pc.sh("ip link set eth0 up; ip addr add 192.0.2.50/24 dev eth0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const resolves = async () =>
      /192\.0\.2\.10/.test(
        String((await pc.tryRun("busybox", ["nslookup", "web", "192.0.2.1"], { timeout: 20_000 })).stdout),
      );
    expect(await resolves()).toBe(true);
    const names = `${lab.conf.stateDir}/nat0.addnhosts`;
    chmodSync(names, 0o600);
    // Control: dnsmasq, as nobody, re-reads it on SIGHUP (as on any hosts change) and silently loses the name.
    const pid = Number(readFileSync(`${lab.conf.stateDir}/nat0.dnsmasq.pid`, "utf8").trim());
    process.kill(pid, "SIGHUP");
    expect(await resolves()).toBe(false);
    expect((await kvmnet(["status", "nat0"])).out).toContain(`cannot read ${names} (it is mode 0600)`);
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect(statSync(names).mode & 0o777).toBe(0o644);
    expect((await kvmnet(["status", "nat0"])).out).toContain("as configured");
    expect(await resolves()).toBe(true);
  });
});
