// release/kvmnet, the single executable: one binary answering to every program name (also NAME@NET) by the
// name it is run as, running where there is no node at all, and `kvmnet install` from it.
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Netns, ROOT, rid, tempConfig } from "../helpers/netns.js";
import { ensureBinary } from "../helpers/release.js";
import { HOOKS, PROGRAM_NAMES } from "../../src/programs.js";

const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const TEMPLATE = readFileSync(join(ROOT, "etc-templates/kvmnet.conf"), "utf8");
let bin: string;
let dir: string;
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(async () => {
  bin = await ensureBinary();
  dir = mkdtempSync(join(tmpdir(), "kvmnet-bin-"));
}, 300_000);
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run FILE with ARGS in a clean environment (nothing of this test's node leaks in), optionally inside NS. */
async function run(file: string, args: string[], env: Record<string, string> = {}, ns?: Netns) {
  const [cmd, argv] = ns ? ["ip", ["netns", "exec", ns.name, file, ...args]] : [file, args];
  const r = await execa(cmd, argv, { env: { PATH, ...env }, extendEnv: false, reject: false, timeout: 60_000 });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

/** Run a hook with /usr/bin/node hidden (bind-mounted /dev/null, in a private mount namespace) inside NS. */
async function hookWithoutNode(ns: Netns, file: string, tap: string, conf: string) {
  const script = `mount --bind /dev/null "$(readlink -f "$(command -v node)")" || exit 98
    if node -e 0 2>/dev/null; then echo "node still runs" >&2; exit 99; fi
    exec ip netns exec "$0" "$1" "$2"`;
  const r = await execa("unshare", ["-m", "--propagation", "private", "sh", "-c", script, ns.name, file, tap], {
    env: { PATH, KVMNET_CONFIG: conf },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

/** A namespace with a tap device TAP (as QEMU would have made it). */
async function hostWithTap(tap: string): Promise<Netns> {
  const ns = await Netns.create("kbin");
  cleanups.push(async () => await ns.destroy());
  await ns.sh(`ip tuntap add dev ${tap} mode tap && ip link set ${tap} up`);
  return ns;
}

async function masterOf(ns: Netns, dev: string): Promise<string | undefined> {
  return (JSON.parse(await ns.sh(`ip -j link show dev ${dev}`)) as { master?: string }[])[0]?.master;
}

const nat = (name: string, br: string, net: string) =>
  `[${name}]\nmode = nat\nbridge = ${br}\naddress = ${net}.1/24\ndhcp_range = ${net}.10,${net}.20\n`;

describe("release/kvmnet", () => {
  it("answers to every program name, and NAME@NET, by the name it is run as", async () => {
    for (const name of [...PROGRAM_NAMES, "qemu-natup@lab", "qemu-ifdown@x.y"]) symlinkSync(bin, join(dir, name));
    for (const name of Object.keys(HOOKS)) {
      const r = await run(join(dir, name), ["--help"]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: ${name} TAP\n`));
    }
    expect((await run(join(dir, "qemu-natup@lab"), ["--help"])).out).toMatch(/^usage: qemu-natup TAP\n/);
    // The suffix reaches network selection: a network named in it that does not exist is an error naming it.
    const c = tempConfig(nat("only", `kb${rid()}`, "198.51.100"));
    cleanups.push(c.cleanup);
    const r = await run(join(dir, "qemu-ifdown@x.y"), ["vnet0"], { KVMNET_CONFIG: c.file });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^qemu-ifdown: .*"x\.y"/);
    expect((await run(join(dir, "kvmnet"), ["install", "--help"])).out).toMatch(/^usage: kvmnet install/);
    expect((await run(bin, ["install", "--help"])).out).toMatch(/^usage: kvmnet install/);
  });

  it("runs in a root holding nothing but itself and the C libraries it links: no node anywhere", async () => {
    const root = mkdtempSync(join(tmpdir(), "kvmnet-root-"));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, "usr/lib/kvmnet"), { recursive: true });
    cpSync(bin, join(root, "usr/lib/kvmnet/kvmnet"));
    const libs = (await execa("ldd", [bin])).stdout.match(/\/\S+/g)!;
    for (const lib of libs) {
      mkdirSync(join(root, dirname(lib)), { recursive: true });
      cpSync(lib, join(root, lib), { dereference: true });
    }
    symlinkSync("/usr/lib/kvmnet/kvmnet", join(root, "usr/lib/kvmnet/qemu-natup"));
    expect((await execa("find", [root, "-name", "*node*"])).stdout).toBe("");
    const inRoot = async (args: string[]) => await run("chroot", [root, ...args]);

    const help = await inRoot(["/usr/lib/kvmnet/qemu-natup", "--help"]);
    expect(help.code, help.err).toBe(0);
    expect(help.out).toMatch(/^usage: qemu-natup TAP/);
    // The real code path: it looks for the config and says precisely what is wrong.
    const noConf = await inRoot(["/usr/lib/kvmnet/qemu-natup", "vnet0"]);
    expect(noConf).toMatchObject({
      code: 2,
      err: "qemu-natup: /etc/kvmnet.conf: does not exist: `kvmnet install` writes a default one (a NAT network, commented), kvmnet.conf(5) describes it",
    });

    // install writes the template it carries inside (there is no etc-templates/ in this root).
    const inst = await inRoot(["/usr/lib/kvmnet/kvmnet", "install"]);
    expect(inst.code, inst.err).toBe(0);
    for (const name of Object.keys(HOOKS)) expect(readlinkSync(join(root, "etc", name))).toBe("/usr/lib/kvmnet/kvmnet");
    expect(readFileSync(join(root, "etc/kvmnet.conf"), "utf8")).toBe(TEMPLATE);
    expect((await inRoot(["/etc/qemu-ifup-bridge", "--help"])).out).toMatch(/^usage: qemu-ifup-bridge TAP/);
  });

  it("a hook run from it, with node hidden, brings a NAT network up; NAME@NET picks the network; twice is fine", async () => {
    const tap = `vm${rid()}`;
    const ns = await hostWithTap(tap);
    const [a, b] = [`kba${rid()}`, `kbb${rid()}`];
    const c = tempConfig(nat("a", a, "198.51.100") + nat("b", b, "203.0.113"));
    cleanups.push(c.cleanup);
    const hook = join(dir, `qemu-natup@b`);
    if (!existsSync(hook)) symlinkSync(bin, hook);

    for (const round of [1, 2]) {
      const r = await hookWithoutNode(ns, hook, tap, c.file);
      expect(r.code, `round ${round}: ${r.err}`).toBe(0);
    }
    expect(await masterOf(ns, tap)).toBe(b);
    expect(await ns.sh(`ip -4 -o addr show dev ${b}`)).toContain("203.0.113.1/24");
    expect(await ns.sh(`ip -o link show dev ${a} 2>&1 || true`)).toMatch(/does not exist/);
    const pid = Number(readFileSync(join(c.stateDir, "b.dnsmasq.pid"), "utf8"));
    expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("dnsmasq");

    const down = join(dir, "qemu-natdown@b");
    if (!existsSync(down)) symlinkSync(bin, down);
    const r = await hookWithoutNode(ns, down, tap, c.file);
    expect(r.code, r.err).toBe(0);
    expect(await masterOf(ns, tap)).toBeUndefined();
  });

  it("kvmnet install from it: links (or copies) that run as hooks", async () => {
    const dest = join(dir, `etc-${rid()}`);
    const r = await run(bin, ["install", "--dest", dest]);
    expect(r.code, r.err).toBe(0);
    for (const name of Object.keys(HOOKS)) {
      expect(readlinkSync(join(dest, name))).toBe(bin);
      expect(r.out).toContain(`linked  ${join(dest, name)} -> ${bin}\n`);
    }
    expect(readFileSync(join(dest, "kvmnet.conf"), "utf8")).toBe(TEMPLATE);
    const again = await run(bin, ["install", "--dest", dest]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^present .*qemu-natup: already links to /m);
    expect(again.out).toMatch(/^kept {4}.*kvmnet\.conf: exists, left as it is$/m);

    const copies = join(dir, `copies-${rid()}`);
    expect((await run(bin, ["install", "--dest", copies, "--copy"])).code).toBe(0);
    expect(lstatSync(join(copies, "qemu-ifup")).isFile()).toBe(true);
    expect(readFileSync(join(copies, "qemu-ifup")).equals(readFileSync(bin))).toBe(true);

    // A linked hook and a copied one each bring a network up.
    const tap = `vm${rid()}`;
    const ns = await hostWithTap(tap);
    const br = `kbi${rid()}`;
    const c = tempConfig(nat("n", br, "192.0.2"));
    cleanups.push(c.cleanup);
    for (const hook of [join(dest, "qemu-natup"), join(copies, "qemu-ifup")]) {
      const h = await hookWithoutNode(ns, hook, tap, c.file);
      expect(h.code, h.err).toBe(0);
      expect(await masterOf(ns, tap)).toBe(br);
    }
  });
});
