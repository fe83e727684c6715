// kvmnet next to a real dockerd (Debian's docker.io) started in the lab's host namespace (test/netns/docker-daemon.ts),
// with iptables-nft and with iptables-legacy: Docker turns forwarding on and sets FORWARD's policy to DROP, which
// drops the guests' forwarded traffic whatever kvmnet's own table accepts. kvmnet puts its rules, tagged
// "kvmnet NET", in DOCKER-USER, once (a second hook or kvmnet up adds nothing), and `kvmnet down` (or the last VM's
// down hook with teardown = when-idle) leaves the chain exactly as Docker made it. Controls: the same traffic with
// kvmnet's DOCKER-USER rules deleted, or before kvmnet up when Docker came later, is dropped; a "container" on
// docker0 still reaches the outside; new connections from outside into a nat network, and from a bridge-mode
// network's LAN into Docker's network, stay refused. The host's own rulesets are compared before and after.
import { execa } from "execa";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HOST_UPLINK, makeLab, natSection, OUTSIDE, seenAs, startEchoAddress, type Lab } from "../helpers/lab.js";
import { Netns, program, veth } from "../helpers/netns.js";
import { pidsNaming, startDockerd, type Dockerd } from "./docker-daemon.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const routedSection = (br: string) =>
  `[nat0]\nmode = routed\nbridge = ${br}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\n`;

// The test runner's (host) namespace's rules of both variants, without counters and the dump's comments: compared
// before and after, as nothing here may touch them.
async function hostRules(): Promise<string> {
  const save = async (cmd: string) =>
    String((await execa(cmd, [], { reject: false })).stdout)
      .replace(/^#.*$/gm, "")
      .replace(/\[\d+:\d+\]/g, "");
  return `${await save("iptables-nft-save")}\n${await save("iptables-legacy-save")}`;
}

async function kvmnet(lab: Lab, ...args: string[]) {
  const r = await lab.host.tryRun(process.execPath, [program("kvmnet"), ...args], {
    env: { KVMNET_CONFIG: lab.conf.file },
  });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

/** A lab whose host namespace runs dockerd (VARIANT), and a "container" namespace on docker0. */
async function setup(variant: "nft" | "legacy", opts: Parameters<typeof makeLab>[0] = {}) {
  const before = await hostRules();
  const lab = await makeLab(opts);
  cleanups.push(async () => {
    await lab.destroy();
    expect(await hostRules()).toBe(before);
  });
  cleanups.push(await startEchoAddress(lab.outside));
  return { lab, ...(await withDocker(lab, variant)) };
}

/** Start dockerd (VARIANT) in LAB's host namespace, with a "container" on docker0. */
async function withDocker(lab: Lab, variant: "nft" | "legacy") {
  const docker = await startDockerd(lab.host, variant);
  cleanups.push(async () => {
    await docker.stop();
    expect(pidsNaming(docker.dir)).toEqual([]);
  });
  const container = await Netns.create("kc");
  cleanups.push(async () => await container.destroy());
  const port = `dk${lab.bridge.slice(2, 8)}`;
  await veth(lab.host, port, container, "eth0");
  await lab.host.sh(`ip link set ${port} master docker0`);
  await container.sh("ip addr add 198.51.100.2/24 dev eth0 && ip route add default via 198.51.100.1");
  return { docker, container };
}

/** A PATH whose iptables-*-save log their calls. */
function loggingPath() {
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-path-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, "log");
  writeFileSync(log, "");
  for (const t of ["iptables-save", "iptables-nft-save", "iptables-legacy-save"]) {
    writeFileSync(join(dir, t), `#!/bin/sh\necho "${t} $*" >> ${log}\nexec /usr/sbin/${t} "$@"\n`);
    chmodSync(join(dir, t), 0o755);
  }
  return {
    PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin`,
    take(): string[] {
      const lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
      writeFileSync(log, "");
      return lines;
    },
  };
}

/** kvmnet doctor's forward-drop finding (Docker's FORWARD chain is the only one with policy drop here). */
async function forwardDrop(lab: Lab) {
  const checks = JSON.parse((await kvmnet(lab, "doctor", "--json")).out).checks as { id: string }[];
  const f = checks.filter((c) => c.id === "forward-drop");
  expect(f).toHaveLength(1);
  return f[0];
}

const ours = async (d: Dockerd) => (await d.dockerUser()).filter((l) => l.includes('--comment "kvmnet nat0"'));

describe("Docker's FORWARD DROP and DOCKER-USER", () => {
  it.each([
    ["nft", "nftables"],
    ["legacy", "nftables"],
    ["nft", "iptables"],
    ["legacy", "iptables"],
  ] as const)(
    "nat, Docker on iptables-%s, firewall = %s: the guest reaches the outside; kvmnet's tagged rules are added once and removed exactly",
    async (variant, firewall) => {
      const { lab, docker, container } = await setup(variant, { firewall });
      const fw = await lab.host.sh(`iptables-${variant}-save -t filter`);
      expect(fw).toMatch(/^:FORWARD DROP /m);
      const pristine = await docker.dockerUser();
      expect(pristine.some((l) => l.includes("kvmnet"))).toBe(false);

      const g = await lab.addGuest("vm1");
      const path = loggingPath();
      expect((await lab.hook("qemu-natup", "vm1", { PATH: path.PATH })).code).toBe(0);
      // The cold start writes kvmnet's rules, and so looks at DOCKER-USER.
      expect(path.take().filter((c) => c.endsWith("-t filter"))).toContain("iptables-nft-save -t filter");
      expect((await lab.dhcp(g))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
      expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
      // Docker's own container is unaffected.
      expect(await seenAs(container, OUTSIDE)).toBe(HOST_UPLINK);
      // kvmnet's own dispatch chain decides where it lives in the same table (iptables backend, same variant).
      const sameTable = firewall === "iptables" && variant === "nft";
      const target = sameTable ? "KVMNET-FORWARD" : "ACCEPT";
      expect(await ours(docker)).toEqual([
        `-A DOCKER-USER -i ${lab.bridge} -m comment --comment "kvmnet nat0" -j ${target}`,
        `-A DOCKER-USER -o ${lab.bridge} -m comment --comment "kvmnet nat0" -j ${target}`,
      ]);
      // Docker's own rules stay after kvmnet's (its RETURN last).
      expect((await docker.dockerUser()).slice(2)).toEqual(pristine);

      // A second VM (the warm path) and kvmnet up: nothing added twice.
      // The warm path (kvmnet's rules in place) does not look at DOCKER-USER.
      await lab.addGuest("vm2");
      expect((await lab.hook("qemu-natup", "vm2", { PATH: path.PATH })).code).toBe(0);
      expect(path.take()).toEqual(firewall === "iptables" ? ["iptables-save "] : []);
      const again = await kvmnet(lab, "up", "nat0", "--verbose");
      expect(again.code).toBe(0);
      expect(again.out + again.err).not.toContain("DOCKER-USER");
      expect(await ours(docker)).toHaveLength(2);

      // Control: without kvmnet's rules in DOCKER-USER, Docker's DROP takes the guest's traffic.
      for (const r of await ours(docker))
        await lab.host.sh(`iptables-${variant} ${r.replace(/^-A /, "-D ").replace(/"/g, "'")}`);
      // (With firewall = iptables in Docker's own variant, kvmnet's jump further down FORWARD still lets it by; its
      // rules in DOCKER-USER are there so that kvmnet's chains decide before any of Docker's.)
      expect(await seenAs(g, OUTSIDE)).toBe(sameTable ? HOST_UPLINK : "");
      if (!sameTable) expect(await forwardDrop(lab)).toMatchObject({ level: "fail", networks: ["nat0"] });
      // kvmnet up looks at DOCKER-USER even when its own rules are in place, and puts them back, with the
      // restore of Docker's variant.
      const back = await kvmnet(lab, "up", "nat0", "--verbose");
      expect(back.code).toBe(0);
      expect(back.out + back.err).toContain(
        `iptables-${variant}-restore --noflush --wait <<'EOF'\n*filter\n-I DOCKER-USER`,
      );
      expect(await ours(docker)).toHaveLength(2);
      expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
      expect(await forwardDrop(lab)).toEqual({
        id: "forward-drop",
        level: "ok",
        message:
          "ip filter chain FORWARD has policy drop (Docker sets it); kvmnet's own rules in DOCKER-USER let nat0 through",
      });

      expect((await kvmnet(lab, "down", "nat0", "--force")).code).toBe(0);
      expect(await docker.dockerUser()).toEqual(pristine);
      expect(await seenAs(container, OUTSIDE)).toBe(HOST_UPLINK);
    },
  );

  it.each(["nftables", "iptables"] as const)(
    "Docker started after kvmnet (firewall = %s): kvmnet up puts the rules in, and DOCKER-USER never accepts past kvmnet's own policy",
    async (firewall) => {
      const before = await hostRules();
      const lab = await makeLab({ firewall });
      cleanups.push(async () => {
        await lab.destroy();
        expect(await hostRules()).toBe(before);
      });
      cleanups.push(await startEchoAddress(lab.outside));
      const g = await lab.addGuest("vm1");
      expect((await lab.hook("qemu-natup", "vm1")).code).toBe(0);
      const lease = (await lab.dhcp(g))!;
      expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
      // Outside must not open connections to a nat guest, even with a route to it.
      cleanups.push(await startEchoAddress(g));
      await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UPLINK}`);
      expect(await seenAs(lab.outside, lease.ip)).toBe("");

      // Docker starts with forwarding off (as at boot, Docker before kvmnet: it sets DROP only when it turns
      // forwarding on itself); its jump to DOCKER-USER goes to the top of FORWARD, ahead of kvmnet's (iptables).
      await lab.host.sh("sysctl -qw net.ipv4.ip_forward=0");
      const { docker, container } = await withDocker(lab, "nft");
      expect(await lab.host.sh("iptables-nft-save -t filter")).toMatch(
        /^:FORWARD DROP [^]*\n-A FORWARD -j DOCKER-USER\n/m,
      );
      // With nftables, Docker's DROP takes the guest's traffic (kvmnet's table cannot cancel it); with iptables,
      // kvmnet's jump further down FORWARD still lets it by.
      expect(await seenAs(g, OUTSIDE)).toBe(firewall === "iptables" ? HOST_UPLINK : "");
      // A VM start on the warm path does not look (kvmnet watch would, on Docker's rule change); kvmnet up does.
      await lab.addGuest("vm2");
      expect((await lab.hook("qemu-natup", "vm2")).code).toBe(0);
      expect(await ours(docker)).toEqual([]);
      expect((await kvmnet(lab, "up", "nat0")).code).toBe(0);
      expect(await ours(docker)).toHaveLength(2);
      expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
      expect(await seenAs(container, OUTSIDE)).toBe(HOST_UPLINK);
      expect(await seenAs(lab.outside, lease.ip)).toBe("");
      expect((await kvmnet(lab, "down", "nat0", "--force")).code).toBe(0);
      expect(await ours(docker)).toEqual([]);
    },
  );

  it("bridge mode, br_netfilter on, Docker on iptables-nft: the guest gets its lease from the LAN once kvmnet up adds its rule; routed traffic from the LAN stays Docker's to judge", async () => {
    const br = `kl${Math.random().toString(16).slice(2, 8)}`;
    const { lab, docker, container } = await setup("nft", { section: () => `[lan]\nmode = bridge\nbridge = ${br}\n` });
    const h = lab.host;
    // The admin's bridge over the uplink, the host's LAN address on it; a DHCP server on the LAN.
    await h.sh(
      `ip addr flush dev up0 && ip link add ${br} type bridge && ip link set up0 master ${br} && ip link set ${br} up`,
    );
    await h.sh(`ip addr add ${HOST_UPLINK}/24 dev ${br}`);
    expect(await h.sh("cat /proc/sys/net/bridge/bridge-nf-call-iptables")).toBe("1");
    const lan = lab.outside.spawn("dnsmasq", [
      "-k",
      "--conf-file=/dev/null",
      "--port=0",
      "--interface=eth0",
      "--bind-interfaces",
      "--dhcp-range=203.0.113.100,203.0.113.150,255.255.255.0",
      `--dhcp-leasefile=${lab.conf.dir}/lan.leases`,
    ]);
    cleanups.push(() => void lan.kill("SIGTERM"));
    const pristine = await docker.dockerUser();
    const g = await lab.addGuest("vm0");
    // The warm path (the admin's bridge exists) does not look at DOCKER-USER: Docker's DROP takes the bridged DHCP.
    expect((await lab.hook("qemu-ifup-bridge", "vm0")).code).toBe(0);
    expect(await lab.dhcp(g)).toBeNull();
    expect((await kvmnet(lab, "up", "lan")).code).toBe(0);
    expect(await docker.dockerUser()).toEqual([
      `-A DOCKER-USER -i ${br} -o ${br} -m comment --comment "kvmnet lan" -j ACCEPT`,
      ...pristine,
    ]);
    const lease = await lab.dhcp(g);
    expect(lease?.ip).toMatch(/^203\.0\.113\.1[0-4]\d$/);
    expect(await seenAs(g, OUTSIDE)).toBe(lease!.ip);
    // The bridge is the host's LAN interface: traffic routed from it into Docker's network is not let through.
    cleanups.push(await startEchoAddress(container));
    await lab.outside.sh(`ip route add 198.51.100.0/24 via ${HOST_UPLINK}`);
    expect(await seenAs(lab.outside, "198.51.100.2")).toBe("");
    expect((await kvmnet(lab, "down", "lan", "--force")).code).toBe(0);
    expect(await docker.dockerUser()).toEqual(pristine);
    expect(await h.sh(`ls /sys/class/net/${br}/brif`)).toContain("up0");
  });

  it("teardown = when-idle: the last VM's down hook removes kvmnet's rules from DOCKER-USER, an earlier one does not look", async () => {
    const { lab, docker } = await setup("nft", { section: (br) => natSection(br, "teardown = when-idle\n") });
    const pristine = await docker.dockerUser();
    for (const t of ["vm1", "vm2"]) {
      await lab.addGuest(t);
      expect((await lab.hook("qemu-natup", t)).code).toBe(0);
    }
    expect(await ours(docker)).toHaveLength(2);
    const path = loggingPath();
    expect((await lab.hook("qemu-natdown", "vm1", { PATH: path.PATH })).code).toBe(0);
    expect(path.take()).toEqual([]);
    expect(await ours(docker)).toHaveLength(2);
    expect((await lab.hook("qemu-natdown", "vm2", { PATH: path.PATH })).code).toBe(0);
    expect(path.take()).toContain("iptables-nft-save -t filter");
    expect(await docker.dockerUser()).toEqual(pristine);
    expect(await lab.host.sh(`ip link show ${lab.bridge} 2>&1 || true`)).toMatch(/does not exist/);
  });

  it("routed, Docker on iptables-nft: the guest reaches the outside, and the outside the guest", async () => {
    const { lab, docker } = await setup("nft", { section: routedSection });
    const pristine = await docker.dockerUser();
    const g = await lab.addGuest("vm1");
    expect((await lab.hook("qemu-ifup", "vm1")).code).toBe(0);
    const lease = await lab.dhcp(g);
    expect(lease?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UPLINK}`);
    expect(await seenAs(g, OUTSIDE)).toBe(lease!.ip);
    cleanups.push(await startEchoAddress(g));
    expect(await seenAs(lab.outside, lease!.ip)).toBe(OUTSIDE);
    expect(await ours(docker)).toHaveLength(2);
    for (const r of await ours(docker)) await lab.host.sh(`iptables ${r.replace(/^-A /, "-D ").replace(/"/g, "'")}`);
    expect(await seenAs(g, OUTSIDE)).toBe("");
    expect((await kvmnet(lab, "down", "nat0", "--force")).code).toBe(0);
    expect(await docker.dockerUser()).toEqual(pristine);
  });
});
