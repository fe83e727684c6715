// kvmnet doctor on hosts (namespaces) with each known conflict set up for real, and with it taken away again.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Netns, program, rid, tempConfig } from "../helpers/netns.js";

type Conf = ReturnType<typeof tempConfig>;
interface Check {
  id: string;
  level: string;
  message: string;
  fix?: string;
  networks?: string[];
}
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A host namespace whose bridged frames skip iptables (the check of its own is tested on its own). */
async function host(): Promise<Netns> {
  const ns = await Netns.create("kdoc");
  cleanups.push(async () => await ns.destroy());
  await ns.sh("echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables");
  return ns;
}
function conf(body: string, global = ""): Conf {
  const c = tempConfig(body, global);
  cleanups.push(c.cleanup);
  return c;
}
async function kvmnet(ns: Netns, file: string, args: string[], env: Record<string, string> = {}) {
  const r = await ns.tryRun(process.execPath, [program("kvmnet"), ...args], {
    env: { KVMNET_CONFIG: file, ...env },
    timeout: 60_000,
  });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}
/** doctor --json: exit code and the checks that are not ok, as [id, level, networks]. */
async function doctor(ns: Netns, c: Conf, env: Record<string, string> = {}) {
  const r = await kvmnet(ns, c.file, ["doctor", "--json"], env);
  const checks = JSON.parse(r.out).checks as Check[];
  return {
    code: r.code,
    checks,
    bad: checks.filter((x) => x.level !== "ok").map((x) => [x.id, x.level, x.networks ?? []]),
  };
}
const nat = (br: string) =>
  `[lab]\nmode = nat\nbridge = ${br}\naddress = 203.0.113.1/24\ndhcp_range = 203.0.113.100,203.0.113.150\n`;
async function upNat(ns: Netns, global = "") {
  const br = `kvd${rid()}`;
  const c = conf(nat(br), global);
  const r = await kvmnet(ns, c.file, ["up", "lab"]);
  expect(r.code, r.err).toBe(0);
  return { br, c };
}

describe("kvmnet doctor", () => {
  it("passes on a healthy host with the network up and its own dnsmasq on 53 and 67", async () => {
    const ns = await host();
    const { c } = await upNat(ns);
    const d = await doctor(ns, c);
    expect(d.bad).toEqual([]);
    expect(d.code).toBe(0);
    expect(d.checks.map((x) => x.id)).toEqual([
      "config",
      "tool-ip",
      "tool-nft",
      "tool-dnsmasq",
      "tun",
      "host-fit",
      "forwarding",
      "br_netfilter",
      "forward-drop",
      "input-drop",
      "ufw",
      "ports",
      "dnsmasq",
      "networkmanager",
      "userd",
    ]);
    const plain = await kvmnet(ns, c.file, ["doctor"]);
    expect(plain.code).toBe(0);
    expect(plain.out).toMatch(/^ok {4}\S.*\n[\s\S]*\nnothing here would break a configured network$/);
  });

  it("a forward chain with policy drop in another nft table breaks a nat network; the printed fix repairs it", async () => {
    const ns = await host();
    const { br, c } = await upNat(ns);
    await ns.sh(
      "nft add table inet other && nft add chain inet other fw '{ type filter hook forward priority 0; policy drop; }'",
    );
    const d = await doctor(ns, c);
    expect(d.code).toBe(1);
    expect(d.bad).toEqual([["forward-drop", "fail", ["lab"]]]);
    const f = d.checks.find((x) => x.id === "forward-drop")!;
    expect(f.message).toMatch(/^inet other chain fw has policy drop: forwarded traffic of lab is dropped there/);
    const fixes = f
      .fix!.replace(/^[^:]*: /, "")
      .split("; ")
      .filter((x) => x.startsWith("nft insert rule"));
    expect(fixes).toEqual([
      `nft insert rule inet other fw iifname ${br} accept`,
      `nft insert rule inet other fw oifname ${br} accept`,
    ]);
    for (const cmd of fixes) await ns.sh(cmd);
    expect(await doctor(ns, c)).toMatchObject({ code: 0, bad: [] });
  });

  it("Docker's iptables FORWARD policy DROP breaks the nftables backend but not the iptables backend", async () => {
    const ns = await host();
    await ns.sh("iptables -P FORWARD DROP");
    const { c } = await upNat(ns);
    const d = await doctor(ns, c);
    expect(d.bad).toEqual([["forward-drop", "fail", ["lab"]]]);
    expect(d.checks.find((x) => x.id === "forward-drop")!.fix).toMatch(
      /iptables -I DOCKER-USER -i kvd\w+ -j ACCEPT.*or set firewall = iptables/,
    );
    expect((await kvmnet(ns, c.file, ["down", "lab"])).code).toBe(0);
    // kvmnet's iptables chain is jumped from the top of that FORWARD chain, so its accepts come first.
    const ipt = await upNat(ns, "firewall = iptables");
    expect(await doctor(ns, ipt.c)).toMatchObject({ code: 0, bad: [] });
  });

  it("br_netfilter with bridge-nf-call-iptables = 1 warns; with a drop policy it breaks even an isolated network", async () => {
    const ns = await host();
    const c = conf(`[iso]\nmode = isolated\nbridge = kvi${rid()}\n`);
    expect((await kvmnet(ns, c.file, ["up", "iso"])).code).toBe(0);
    await ns.sh(
      "nft add table ip other && nft add chain ip other fw '{ type filter hook forward priority 0; policy drop; }'",
    );
    expect(await doctor(ns, c)).toMatchObject({ code: 0, bad: [] });
    await ns.sh("echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables");
    const d = await doctor(ns, c);
    expect(d.code).toBe(1);
    expect(d.bad).toEqual([
      ["br_netfilter", "warn", []],
      ["forward-drop", "fail", ["iso"]],
    ]);
    expect(d.checks.find((x) => x.id === "br_netfilter")!.fix).toMatch(
      /sysctl -w net\.bridge\.bridge-nf-call-iptables=0/,
    );
    await ns.sh("nft delete table ip other");
    expect(await doctor(ns, c)).toMatchObject({ code: 0, bad: [["br_netfilter", "warn", []]] });
  });

  it("another process on UDP 67 and TCP 53 of the bridge address: named with its pid; up fails the same way", async () => {
    const ns = await host();
    const br = `kvd${rid()}`;
    const c = conf(nat(br));
    // The admin's own bridge with the address, and a stray DHCP/DNS server on it, before kvmnet starts dnsmasq.
    await ns.sh(
      `ip link add ${br} type bridge && ip addr add 203.0.113.1/24 dev ${br} && ip link set ${br} up && echo 1 > /proc/sys/net/ipv4/ip_forward`,
    );
    const js =
      "const d=require('dgram').createSocket('udp4');d.bind(67,'203.0.113.1');require('net').createServer().listen(53,'203.0.113.1');";
    const stray = ns.spawn(process.execPath, ["-e", js]);
    const stop = async () => {
      try {
        process.kill(stray.pid!, "SIGTERM");
      } catch {
        /* already gone */
      }
      await stray;
    };
    cleanups.push(stop);
    for (let i = 0; i < 100 && !/:53\b/.test(await ns.sh("ss -Hltn")); i++) await new Promise((r) => setTimeout(r, 50));
    const d = await doctor(ns, c);
    expect(d.code).toBe(1);
    expect(d.bad).toEqual([["ports", "fail", ["lab"]]]);
    const msg = d.checks.find((x) => x.id === "ports")!.message;
    expect(msg).toContain(`udp 203.0.113.1:67 is held by node (pid ${stray.pid})`);
    expect(msg).toContain(`tcp 203.0.113.1:53 is held by node (pid ${stray.pid})`);
    const up = await kvmnet(ns, c.file, ["up", "lab"]);
    expect(up.code).toBe(1);
    expect(up.err).toMatch(/dnsmasq.*Address (already )?in use/);
    await stop();
    expect((await kvmnet(ns, c.file, ["up", "lab"])).code).toBe(0);
    expect(await doctor(ns, c)).toMatchObject({ code: 0, bad: [] });
  });

  it("NetworkManager managing a kvmnet bridge (as nmcli reports it) fails with the unmanaged-devices fix", async () => {
    const ns = await host();
    const { br, c } = await upNat(ns);
    // A stand-in nmcli: NetworkManager does not run on this machine; the check reads only nmcli's terse output.
    const bin = join(c.dir, "bin");
    mkdirSync(bin);
    const fake = (state: string) => {
      writeFileSync(
        join(bin, "nmcli"),
        `#!/bin/sh\n[ "$*" = "-t -f DEVICE,STATE device status" ] || exit 9\nprintf 'lo:unmanaged\\n${br}:${state}\\n'\n`,
      );
      chmodSync(join(bin, "nmcli"), 0o755);
    };
    const PATH = `${bin}:${process.env.PATH}`;
    fake("connected");
    const d = await doctor(ns, c, { PATH });
    expect(d).toMatchObject({ code: 1, bad: [["networkmanager", "fail", ["lab"]]] });
    expect(d.checks.find((x) => x.id === "networkmanager")!.fix).toContain(`unmanaged-devices=interface-name:${br}`);
    fake("unmanaged");
    expect(await doctor(ns, c, { PATH })).toMatchObject({ code: 0, bad: [] });
  });

  it("a subnet colliding with a host route, forwarding turned off under a live nat network, a missing tool", async () => {
    const ns = await host();
    const { c } = await upNat(ns);
    await ns.sh("echo 0 > /proc/sys/net/ipv4/ip_forward");
    let d = await doctor(ns, c);
    expect(d).toMatchObject({ code: 1, bad: [["forwarding", "fail", ["lab"]]] });
    expect(d.checks.find((x) => x.id === "forwarding")!.fix).toMatch(/^kvmnet up lab/);
    expect((await kvmnet(ns, c.file, ["up", "lab"])).code).toBe(0);
    expect(await doctor(ns, c)).toMatchObject({ code: 0, bad: [] });

    const other = conf(`[b]\nmode = host-only\nbridge = kvo${rid()}\naddress = 203.0.113.129/25\n`);
    d = await doctor(ns, other);
    expect(d).toMatchObject({ code: 1, bad: [["subnet-collision", "fail", ["b"]]] });
    expect(d.checks.find((x) => x.id === "subnet-collision")!.message).toMatch(
      /collides with the host's route 203\.0\.113\.0\/24 dev kvd/,
    );

    // dnsmasq missing (kvmnet always searches the system directories, so a short PATH cannot hide it): in a
    // mount namespace of its own, doctor finds /dev/null, which is not executable, where dnsmasq was.
    const r = await ns.tryRun(
      "unshare",
      [
        "-m",
        "sh",
        "-c",
        `mount --bind /dev/null "$(command -v dnsmasq)" && exec "$0" "$@"`,
        process.execPath,
        program("kvmnet"),
        "doctor",
        "--json",
      ],
      { env: { KVMNET_CONFIG: c.file } },
    );
    const checks = JSON.parse(String(r.stdout)).checks as Check[];
    d = {
      code: r.exitCode,
      checks,
      bad: checks.filter((x) => x.level !== "ok").map((x) => [x.id, x.level, x.networks ?? []]),
    };
    expect(d).toMatchObject({ code: 1, bad: [["tool-dnsmasq", "fail", ["lab"]]] });
    expect(d.checks.find((x) => x.id === "tool-dnsmasq")!.fix).toBe("apt-get install dnsmasq-base");
  });
});
