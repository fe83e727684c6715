// `npm pack` then `npm i -g` of the tarball: the same program names, on the installed node, working hooks;
// `kvmnet install` from there links /etc-style names to the installed bundles.
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Netns, ROOT, rid, tempConfig } from "../helpers/netns.js";
import { HOOKS, PROGRAM_NAMES } from "../../src/programs.js";

const TEMPLATE = readFileSync(join(ROOT, "etc-templates/kvmnet.conf"), "utf8");
let tmp: string;
let prefix: string;
let dist: string;
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "kvmnet-npm-"));
  prefix = join(tmp, "prefix");
  // dist/ is fresh (the global setup built it); --ignore-scripts keeps prepack from rebuilding it under
  // other test files that are running it.
  const packed = await execa("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], { cwd: ROOT });
  const tgz = join(tmp, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
  await execa(
    "npm",
    ["install", "--global", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tgz],
    { cwd: tmp },
  );
  dist = realpathSync(join(prefix, "lib/node_modules/kvmnet/dist"));
}, 300_000);
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function hostWithTap(tap: string): Promise<Netns> {
  const ns = await Netns.create("knpm");
  cleanups.push(async () => await ns.destroy());
  await ns.sh(`ip tuntap add dev ${tap} mode tap && ip link set ${tap} up`);
  return ns;
}
async function masterOf(ns: Netns, dev: string): Promise<string | undefined> {
  return (JSON.parse(await ns.sh(`ip -j link show dev ${dev}`)) as { master?: string }[])[0]?.master;
}
function natConf(br: string) {
  const c = tempConfig(
    `[n]\nmode = nat\nbridge = ${br}\naddress = 198.51.100.1/24\ndhcp_range = 198.51.100.10,198.51.100.20\n`,
  );
  cleanups.push(c.cleanup);
  return c;
}
/** Run FILE ARGS with the installed node on PATH, in NS if given. */
async function run(file: string, args: string[], env: Record<string, string> = {}, ns?: Netns) {
  const [cmd, argv] = ns ? ["ip", ["netns", "exec", ns.name, file, ...args]] : [file, args];
  const r = await execa(cmd, argv, {
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

describe("npm i -g of the packed tarball", () => {
  it("installs every program name and the man pages", async () => {
    for (const name of PROGRAM_NAMES) {
      const bin = join(prefix, "bin", name);
      expect(lstatSync(bin).isSymbolicLink(), name).toBe(true);
      expect(realpathSync(bin)).toBe(join(dist, `${name}.cjs`));
    }
    for (const name of Object.keys(HOOKS))
      expect((await run(join(prefix, "bin", name), ["--help"])).out).toMatch(new RegExp(`^usage: ${name} TAP`));
    expect((await run(join(prefix, "bin/kvmnet"), ["--help"])).code).toBe(0);
    expect(existsSync(join(prefix, "share/man/man8/kvmnet.8"))).toBe(true);
    expect(existsSync(join(prefix, "share/man/man5/kvmnet.conf.5"))).toBe(true);
  });

  it("a hook from PREFIX/bin brings a NAT network up on the installed node", async () => {
    const tap = `vm${rid()}`;
    const ns = await hostWithTap(tap);
    const br = `knp${rid()}`;
    const c = natConf(br);
    const r = await run(join(prefix, "bin/qemu-natup"), [tap], { KVMNET_CONFIG: c.file }, ns);
    expect(r.code, r.err).toBe(0);
    expect(await masterOf(ns, tap)).toBe(br);
    expect(await ns.sh(`ip -4 -o addr show dev ${br}`)).toContain("198.51.100.1/24");
  });

  it("kvmnet install from it links each name to its installed bundle (or copies it); those run as hooks", async () => {
    const dest = join(tmp, `etc-${rid()}`);
    const r = await run(join(prefix, "bin/kvmnet"), ["install", "--dest", dest]);
    expect(r.code, r.err).toBe(0);
    for (const name of Object.keys(HOOKS)) expect(readlinkSync(join(dest, name))).toBe(join(dist, `${name}.cjs`));
    expect(readFileSync(join(dest, "kvmnet.conf"), "utf8")).toBe(TEMPLATE);

    const copies = join(tmp, `copies-${rid()}`);
    expect((await run(join(prefix, "bin/kvmnet"), ["install", "--dest", copies, "--copy"])).code).toBe(0);
    expect(readFileSync(join(copies, "qemu-natdown"), "utf8")).toBe(
      readFileSync(join(dist, "qemu-natdown.cjs"), "utf8"),
    );

    const tap = `vm${rid()}`;
    const ns = await hostWithTap(tap);
    const br = `kni${rid()}`;
    const c = natConf(br);
    const up = await run(join(dest, "qemu-natup"), [tap], { KVMNET_CONFIG: c.file }, ns);
    expect(up.code, up.err).toBe(0);
    expect(await masterOf(ns, tap)).toBe(br);
    const down = await run(join(copies, "qemu-natdown"), [tap], { KVMNET_CONFIG: c.file }, ns);
    expect(down.code, down.err).toBe(0);
    expect(await masterOf(ns, tap)).toBeUndefined();
  });
});
