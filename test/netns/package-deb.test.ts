// The Debian package, installed by dpkg (maintainer scripts and all) into a throwaway root: an overlay of
// this machine's / with node deleted, in a private mount namespace; a hook run from there against a namespace.
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  existsSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Netns, ROOT, rid, tempConfig } from "../helpers/netns.js";
import { ensureDeb } from "../helpers/release.js";
import { libvirtdProfilePackage } from "../vm/libvirtd-profile.js";

const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const TEMPLATE = readFileSync(join(ROOT, "etc-templates/kvmnet.conf"), "utf8");
const ETC_HOOKS = ["qemu-natup", "qemu-natdown", "qemu-ifup-bridge", "qemu-ifup-isolated"];
/** The lines the README tells admins of a standalone or npm install to add to local/usr.sbin.libvirtd. */
const README_LOCAL_LINES = "/usr/local/lib/kvmnet/kvmnet PUx,\n/usr/local/lib/node_modules/kvmnet/dist/*.cjs PUx,\n";
let holder: ResultPromise;
let tmp: string;
let root: string; // the throwaway root, as a path inside the holder's mount namespace
let installed: { code: number | undefined; out: string };
let debPath = "";
const cleanups: (() => void | Promise<void>)[] = [];

/** Run a shell script in the holder's mount namespace (and in NS's network namespace if given). */
async function sh(script: string, opts: { ns?: Netns; env?: Record<string, string> } = {}) {
  // Never into our own mount namespace: the root's mounts would land on the host.
  if (!ownMountNs(holder.pid!)) throw new Error(`holder ${holder.pid} has no mount namespace of its own`);
  const net = opts.ns ? [`--net=/run/netns/${opts.ns.name}`] : [];
  const r = await execa("nsenter", ["-t", String(holder.pid), "-m", ...net, "--", "sh", "-c", script], {
    env: { PATH, ...opts.env },
    extendEnv: false,
    reject: false,
    timeout: 120_000,
  });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}
/** Whether PID (still alive) is in a mount namespace other than ours. */
function ownMountNs(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`) !== readlinkSync("/proc/self/ns/mnt");
  } catch {
    return false;
  }
}
/** Whether PID has exec'd sleep: unshare made its namespace and its mounts private before that. */
function isSleep(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/exe`).endsWith("/sleep");
  } catch {
    return false;
  }
}
/** Waits until unshare has made the holder's mount namespace private (between unshare(2) and the propagation
 * change, a mount there would still propagate to the host's namespace). */
async function waitForOwnMountNs(pid: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(ownMountNs(pid) && isSleep(pid))) {
    if (Date.now() > until) throw new Error(`unshare (pid ${pid}) made no mount namespace within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
/** A path of the throwaway root, readable from this process (through the holder's /proc entry). */
const inRoot = (p: string) => `/proc/${holder.pid}/root${root}${p}`;
/** Run ARGS chrooted into the root, inside NS, with a fresh sysfs of NS (the hooks read /sys/class/net). */
async function chrootIn(ns: Netns, args: string[], env: Record<string, string>) {
  const q = args.map((a) => `'${a}'`).join(" ");
  return await sh(`umount ${root}/sys 2>/dev/null; mount -t sysfs sysfs ${root}/sys && exec chroot ${root} ${q}`, {
    ns,
    env,
  });
}

beforeAll(async () => {
  const deb = await ensureDeb();
  debPath = deb;
  tmp = mkdtempSync(join(tmpdir(), "kvmnet-deb-"));
  root = join(tmp, "root");
  // The holder keeps the private mount namespace (tmpfs, overlay) alive for the whole file; unshare execs
  // sleep, so its pid is the holder's.
  holder = execa("unshare", ["-m", "--propagation", "private", "sleep", "infinity"], { reject: false });
  await waitForOwnMountNs(holder.pid!);
  const nodes = (await execa("sh", ["-c", "for n in $(which -a node); do readlink -f $n; done | sort -u"])).stdout
    .split("\n")
    .filter(Boolean);
  const setup = await sh(`set -e
    mkdir -p ${tmp}/layers ${root}
    mount -t tmpfs -o size=2g tmpfs ${tmp}/layers
    mkdir ${tmp}/layers/upper ${tmp}/layers/work
    mount -t overlay overlay -o lowerdir=/,upperdir=${tmp}/layers/upper,workdir=${tmp}/layers/work ${root}
    mount --rbind /proc ${root}/proc && mount --rbind /dev ${root}/dev
    for n in ${nodes.join(" ")}; do rm -f ${root}$n; done
    rm -f ${root}/etc/kvmnet.conf ${ETC_HOOKS.map((h) => `${root}/etc/${h}`).join(" ")}
    printf '#!/bin/sh\\n# my own natdown\\n' > ${root}/etc/qemu-natdown`);
  expect(setup.code, setup.err).toBe(0);
  const r = await sh(`dpkg --root=${root} -i ${deb}`);
  installed = { code: r.code, out: r.out + r.err };
}, 600_000);
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(() => {
  if (holder?.pid) process.kill(holder.pid, "SIGTERM"); // its mounts go with its namespace
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function hostWithTap(tap: string): Promise<Netns> {
  const ns = await Netns.create("kdeb");
  cleanups.push(async () => await ns.destroy());
  await ns.sh(`ip tuntap add dev ${tap} mode tap && ip link set ${tap} up`);
  return ns;
}
async function masterOf(ns: Netns, dev: string): Promise<string | undefined> {
  return (JSON.parse(await ns.sh(`ip -j link show dev ${dev}`)) as { master?: string }[])[0]?.master;
}
/** A config reachable at the same path inside the root. */
async function rootConf(body: string) {
  const c = tempConfig(body);
  cleanups.push(c.cleanup);
  const m = await sh(`mkdir -p ${root}${c.dir} && mount --bind ${c.dir} ${root}${c.dir}`);
  expect(m.code, m.err).toBe(0);
  return c;
}

describe("kvmnet_VERSION_amd64.deb", () => {
  it("dpkg installs it with its dependencies met: program, links, conffiles, man pages, boot unit enabled", async () => {
    expect(installed.code, installed.out).toBe(0);
    const files = (await sh(`dpkg --root=${root} -L kvmnet`)).out.split("\n");
    expect(files).toEqual(
      expect.arrayContaining([
        "/usr/lib/kvmnet/kvmnet",
        "/usr/bin/kvmnet",
        ...ETC_HOOKS.map((h) => `/etc/${h}`),
        "/etc/kvmnet.conf",
        "/lib/systemd/system/kvmnet.service",
        "/lib/systemd/system/kvmnet-reapply.service",
        "/lib/systemd/system/kvmnet-watch.service",
        "/lib/systemd/system/kvmnet-userd.socket",
        "/lib/systemd/system/kvmnet-userd.service",
        "/usr/bin/kvmnet-qemu",
        "/usr/share/man/man8/kvmnet.8.gz",
        "/usr/share/man/man5/kvmnet.conf.5.gz",
        "/etc/NetworkManager/conf.d/kvmnet.conf",
      ]),
    );
    // The program is /usr/bin/kvmnet itself (AppArmor: see "libvirtd's AppArmor profile" below); the old path links to it.
    expect(lstatSync(inRoot("/usr/bin/kvmnet")).isFile()).toBe(true);
    for (const h of ETC_HOOKS) expect(readlinkSync(inRoot(`/etc/${h}`))).toBe("/usr/bin/kvmnet");
    expect(readlinkSync(inRoot("/usr/lib/kvmnet/kvmnet"))).toBe("../../bin/kvmnet");
    expect(readFileSync(inRoot("/etc/kvmnet.conf"), "utf8")).toBe(TEMPLATE);
    const status = (await sh(`dpkg-query --root=${root} -W -f '\${Conffiles}\\n\${Depends}' kvmnet`)).out;
    expect(status).toMatch(/^ \/etc\/kvmnet\.conf [0-9a-f]{32}$/m);
    expect(status).toMatch(/^ \/etc\/NetworkManager\/conf\.d\/kvmnet\.conf [0-9a-f]{32}$/m);
    expect(status).toMatch(/^iproute2, nftables \| iptables, dnsmasq-base, libc6 \(>= 2\.\d+\)/m);
    // postinst enabled the unit for boot (as deb-systemd-helper does on a real system).
    expect(readlinkSync(inRoot("/etc/systemd/system/multi-user.target.wants/kvmnet.service"))).toBe(
      "/lib/systemd/system/kvmnet.service",
    );
    // kvmnet-reapply.service runs after each (re)start of nftables, firewalld and netfilter-persistent; watch is
    // not enabled, and prerm stops it before its program goes.
    for (const svc of ["nftables", "firewalld", "netfilter-persistent"])
      expect(readlinkSync(inRoot(`/etc/systemd/system/${svc}.service.wants/kvmnet-reapply.service`))).toBe(
        "/lib/systemd/system/kvmnet-reapply.service",
      );
    expect((await sh(`test -e ${root}/etc/systemd/system/multi-user.target.wants/kvmnet-watch.service`)).code).not.toBe(
      0,
    );
    expect((await sh(`test -x ${root}/var/lib/dpkg/info/kvmnet.prerm`)).code).toBe(0);
    // QEMU as an ordinary user: the socket is enabled (it serves nobody but root until a network allows users).
    expect(readlinkSync(inRoot("/etc/systemd/system/sockets.target.wants/kvmnet-userd.socket"))).toBe(
      "/lib/systemd/system/kvmnet-userd.socket",
    );
    expect(readlinkSync(inRoot("/usr/bin/kvmnet-qemu"))).toBe("kvmnet");
    const verify = await sh(
      `SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no --root=${root} kvmnet.service kvmnet-reapply.service kvmnet-watch.service kvmnet-userd.socket kvmnet-userd.service`,
    );
    expect(verify, verify.err).toMatchObject({ code: 0, err: "" });
    expect(readFileSync(inRoot("/lib/systemd/system/kvmnet.service"), "utf8")).toMatch(
      /^ExecStart=\/usr\/bin\/kvmnet up --autostart$/m,
    );
    // A hook script of the admin's at one of kvmnet's names was moved aside, not lost.
    expect(readFileSync(inRoot("/etc/qemu-natdown.dpkg-old"), "utf8")).toContain("my own natdown");
    expect(installed.out).toContain("moved your /etc/qemu-natdown to /etc/qemu-natdown.dpkg-old");
    // There is no node in this root.
    expect((await sh(`chroot ${root} sh -c 'command -v node'`)).code).not.toBe(0);
  });

  it("a hook from the installed package brings a NAT network up in a namespace; the boot unit's command too", async () => {
    const tap = `vm${rid()}`;
    const ns = await hostWithTap(tap);
    const [br, auto] = [`kdn${rid()}`, `kda${rid()}`];
    const c = await rootConf(
      `[n]\nmode = nat\nbridge = ${br}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.10,192.0.2.20\n` +
        `[boot]\nmode = host-only\nbridge = ${auto}\naddress = 203.0.113.1/24\nautostart = yes\n`,
    );
    const env = { KVMNET_CONFIG: c.file };
    for (const round of [1, 2]) {
      const r = await chrootIn(ns, ["/etc/qemu-natup", tap], env);
      expect(r.code, `round ${round}: ${r.err}`).toBe(0);
    }
    expect(await masterOf(ns, tap)).toBe(br);
    expect(await ns.sh(`ip -4 -o addr show dev ${br}`)).toContain("192.0.2.1/24");
    expect(existsSync(join(c.stateDir, "n.dnsmasq.pid"))).toBe(true);

    const execStart = /^ExecStart=(.*)$/m
      .exec(readFileSync(inRoot("/lib/systemd/system/kvmnet.service"), "utf8"))![1]!
      .split(" ");
    const up = await chrootIn(ns, execStart, env);
    expect(up.code, up.err).toBe(0);
    expect(await ns.sh(`ip -4 -o addr show dev ${auto}`)).toContain("203.0.113.1/24");

    // kvmnet-reapply.service's command puts back the rules of both networks after nft flush ruleset.
    await ns.sh("nft flush ruleset");
    const reapplyStart = /^ExecStart=(.*)$/m
      .exec(readFileSync(inRoot("/lib/systemd/system/kvmnet-reapply.service"), "utf8"))![1]!
      .split(" ");
    const reapply = await chrootIn(ns, reapplyStart, env);
    expect(reapply.code, reapply.err).toBe(0);
    expect(reapply.out).toMatch(/^n: reapplied/m);
    expect(await ns.sh("nft list chain inet kvmnet from-n")).toContain("kvmnet n");

    const down = await chrootIn(ns, ["/etc/qemu-natdown", tap], env);
    expect(down.code, down.err).toBe(0);
    expect(await masterOf(ns, tap)).toBeUndefined();
  });

  it("dpkg -r removes the program and its links but keeps the config; --purge removes the config and the boot link", async () => {
    const rm = await sh(`dpkg --root=${root} -r kvmnet`);
    expect(rm.code, rm.err).toBe(0);
    for (const p of ["/usr/lib/kvmnet/kvmnet", "/usr/bin/kvmnet", ...ETC_HOOKS.map((h) => `/etc/${h}`)]) {
      expect((await sh(`test -L ${root}${p} || test -e ${root}${p}`)).code, p).not.toBe(0);
    }
    expect(readFileSync(inRoot("/etc/kvmnet.conf"), "utf8")).toBe(TEMPLATE);
    const purge = await sh(`dpkg --root=${root} --purge kvmnet`);
    expect(purge.code, purge.err).toBe(0);
    expect(existsSync(inRoot("/etc/kvmnet.conf"))).toBe(false);
    expect(existsSync(inRoot("/etc/NetworkManager/conf.d/kvmnet.conf"))).toBe(false);
    expect((await sh(`test -L ${root}/etc/systemd/system/multi-user.target.wants/kvmnet.service`)).code).not.toBe(0);
  });
});

// The paths libvirtd's profile lets it exec (rules with an x mode, not denied, outside its child profiles), as
// regular expressions. AppArmor globs: {a,b} alternatives, * within one path component, ** across them.
function execRules(profile: string): { rule: string; re: RegExp }[] {
  const top = profile.slice(0, profile.indexOf("profile qemu_bridge_helper"));
  return [...top.matchAll(/^\s*(\/\S+)\s+([a-zA-Z]*x[a-zA-Z]*)\b[^,\n]*,\s*$/gm)].map((m) => {
    const re = m[1]!
      .replace(/[.+?^$()|[\]\\]/g, "\\$&")
      .replace(/\{([^}]*)\}/g, (_, alts: string) => `(?:${alts.split(",").join("|")})`)
      .replace(/\*\*/g, "\u0000")
      .replace(/\*/g, "[^/]*")
      .replace(/\u0000/g, ".*");
    return { rule: `${m[1]} ${m[2]}`, re: new RegExp(`^${re}$`) };
  });
}

// Debian's libvirtd profile checks the exec of a domain's <script> against the resolved path. The kernel's
// own verdict is in test/vm/apparmor-libvirtd.test.ts (a Debian-kernel VM); here the package's layout and the
// README's local/usr.sbin.libvirtd lines.
describe("libvirtd's AppArmor profile (Debian's usr.sbin.libvirtd)", () => {
  it("every hook the .deb installs resolves to a path the stock profile lets libvirtd exec; the old /usr/lib/kvmnet one did not", async () => {
    const rules = execRules(readFileSync((await libvirtdProfilePackage()).profile, "utf8"));
    expect(rules.map((r) => r.rule)).toContain("/usr/bin/* PUx");
    const allowed = (path: string) => rules.filter((r) => r.re.test(path)).map((r) => r.rule);
    // The control: the first releases' program path matched no exec rule.
    expect(allowed("/usr/lib/kvmnet/kvmnet")).toEqual([]);
    const reinstall = await sh(`dpkg --root=${root} -i ${debPath}`);
    expect(reinstall.code, reinstall.err).toBe(0);
    for (const h of [...ETC_HOOKS, "../usr/lib/kvmnet/kvmnet"]) {
      const real = (await sh(`chroot ${root} readlink -f /etc/${h}`)).out.trim();
      expect(real, h).toBe("/usr/bin/kvmnet");
      expect(allowed(real), h).toEqual(["/usr/bin/* PUx"]);
    }
    await sh(`dpkg --root=${root} --purge kvmnet`);
  });

  it("the README's local/usr.sbin.libvirtd lines (standalone binary, npm install) compile with the profile (apparmor_parser -Q -K)", async () => {
    const parser = (await execa("sh", ["-c", "command -v apparmor_parser"], { reject: false })).stdout;
    if (!parser) return expect.fail("apparmor_parser is missing: run scripts/deps.sh (package apparmor)");
    const dir = mkdtempSync(join(tmpdir(), "kvmnet-aa-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, "local"));
    const compile = async (lines: string) => {
      writeFileSync(join(dir, "local/usr.sbin.libvirtd"), lines);
      return await execa(parser, ["-Q", "-K", "-I", dir, (await libvirtdProfilePackage()).profile], { reject: false });
    };
    const good = await compile(README_LOCAL_LINES);
    expect(good.exitCode, good.stderr).toBe(0);
    // The control: the same lines with a comma missing do not compile.
    const bad = await compile(README_LOCAL_LINES.replace(/,\n/, "\n"));
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/AppArmor parser error .*local\/usr\.sbin\.libvirtd.*missing an end of line character/);
  });
});
