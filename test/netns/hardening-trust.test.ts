// state_dir, lease_dir and the config file are trusted only when root owns them and their parents and no one
// else can write them (issue 9 #4): otherwise whoever can write there can plant a symlink and make root
// overwrite any file. Each case: refused with exit 2 before any change, and the symlink's target untouched.
import { afterEach, describe, expect, it } from "vitest";
import {
  chmodSync,
  chownSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { untrustedReason } from "../../src/host/trust.js";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { hook } from "../helpers/netns.js";

const NOBODY = 65534;
const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

describe("untrusted directories are refused before any change", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  // The lab's config with state_dir and lease_dir set to STATE and LEASE, written to FILE.
  function config(file: string, state: string, lease: string): void {
    writeFileSync(
      file,
      `[global]\nstate_dir = ${state}\nlease_dir = ${lease}\n\n${natSection(lab.bridge, "host.web = 52:54:00:88:88:88,192.0.2.10\n")}`,
    );
    chmodSync(file, 0o644);
  }

  /** Everything a refused run must leave as it was: links, rules, and the files under the lab's directory. */
  async function snapshot(): Promise<string> {
    return [
      await lab.host.sh("ip -br link; nft list ruleset; iptables-save | grep -c KVMNET || true"),
      await lab.host.sh(`find ${lab.conf.dir} -printf '%p %u %m %l\\n' | sort`),
    ].join("\n");
  }

  /** A root file with a secret, the target of planted symlinks. */
  function victim(): string {
    const v = `${lab.conf.dir}/victim`;
    writeFileSync(v, "root's secret\n", { mode: 0o600 });
    return v;
  }

  async function expectRefused(file: string, message: RegExp, v: string) {
    const before = await snapshot();
    const r = await hook(lab.host, "qemu-natup", "vm0", file);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await snapshot()).toBe(before);
    expect(readFileSync(v, "utf8")).toBe("root's secret\n");
  }

  it("a state_dir owned by another user, with a symlink planted in it", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    const state = `${lab.conf.dir}/run`;
    mkdirSync(state, { mode: 0o755 });
    chownSync(state, NOBODY, NOBODY);
    const v = victim();
    await lab.host.run(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), "ln", "-s", v, `${state}/nat0.hostsfile`]);
    config(lab.conf.file, state, `${lab.conf.dir}/lib`);
    const msg = `${lab.conf.file}:2: state_dir: ${state} is owned by uid 65534 \\(mode 0755\\), not root: .*\\(fix: chown root: ${state} && chmod go-w ${state}\\)`;
    await expectRefused(lab.conf.file, new RegExp(`^qemu-natup: ${msg}$`, "m"), v);
  });

  it("a world-writable state_dir (even sticky) with a symlink planted by another user", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    const state = `${lab.conf.dir}/run`;
    mkdirSync(state);
    chmodSync(state, 0o1777);
    const v = victim();
    await lab.host.run(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), "ln", "-s", v, `${state}/nat0.dnsmasq.conf`]);
    config(lab.conf.file, state, `${lab.conf.dir}/lib`);
    await expectRefused(
      lab.conf.file,
      new RegExp(
        `state_dir: ${state} is writable by group or others \\(owner root, mode 1777\\).*fix: chmod go-w ${state}`,
      ),
      v,
    );
  });

  it("a lease_dir whose parent is group-writable", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    const parent = `${lab.conf.dir}/shared`;
    mkdirSync(parent);
    chmodSync(parent, 0o775);
    const v = victim();
    config(lab.conf.file, `${lab.conf.dir}/run`, `${parent}/lib`);
    await expectRefused(
      lab.conf.file,
      new RegExp(`:3: lease_dir: ${parent}/lib: ${parent} is writable by group or others \\(owner root, mode 0775\\)`),
      v,
    );
  });

  it("a config file in a directory another user owns", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    const dir = `${lab.conf.dir}/etc`;
    mkdirSync(dir, { mode: 0o755 });
    const file = `${dir}/kvmnet.conf`;
    config(file, `${lab.conf.dir}/run`, `${lab.conf.dir}/lib`);
    chownSync(dir, NOBODY, NOBODY);
    await expectRefused(
      file,
      new RegExp(`^qemu-natup: ${file}: ${dir} is owned by uid 65534 \\(mode 0755\\), not root`, "m"),
      victim(),
    );
  });

  it("trusted: root's directories under sticky /tmp, missing ones created root's 0755; a symlink at a file's place is replaced, not followed", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    const v = victim();
    const state = lab.conf.stateDir;
    mkdirSync(state, { mode: 0o755 });
    // Planted earlier by root itself (or left from before the directory was root's): not written through.
    await lab.host.sh(`ln -s ${v} ${state}/nat0.hostsfile`);
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(v, "utf8")).toBe("root's secret\n");
    expect(await lab.host.sh(`stat -c '%F %U %a' ${state}/nat0.hostsfile ${lab.conf.leaseDir}`)).toMatch(
      /^regular (empty )?file root 644\ndirectory root 755$/,
    );
    expect(await lab.host.sh(`ls -A ${state} | grep -c tmp || true`)).toBe("0");
  });
});

describe("untrustedReason (as root)", () => {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function tmp(): string {
    const d = mkdtempSync(join(tmpdir(), "kvmnet-trust-"));
    made.push(d);
    return d;
  }

  it("accepts root's directories below sticky /tmp, and a missing tail", () => {
    const d = tmp();
    expect(untrustedReason(d)).toBe("");
    expect(untrustedReason(`${d}/not/yet`)).toBe("");
  });
  it("refuses a sticky world-writable directory as the path itself (/tmp as state_dir)", () => {
    expect(untrustedReason("/tmp")).toMatch(/^\/tmp is writable by group or others \(owner root, mode 1777\)/);
  });
  it("follows symlinks: a root symlink to an untrusted directory is refused by the target's name", () => {
    const d = tmp();
    mkdirSync(`${d}/open`, { mode: 0o777 });
    chmodSync(`${d}/open`, 0o777);
    symlinkSync("open", `${d}/link`);
    expect(untrustedReason(`${d}/link/run`)).toBe(
      `${d}/open is writable by group or others (owner root, mode 0777): anyone who can write it can make root overwrite any file (fix: chmod go-w ${d}/open)`,
    );
  });
  it("refuses a symlink another user owns, even to a good directory", () => {
    const d = tmp();
    symlinkSync("/var", `${d}/link`);
    lchownSync(`${d}/link`, 65534, 65534);
    expect(untrustedReason(`${d}/link/lib`)).toMatch(new RegExp(`^symlink ${d}/link is owned by uid 65534`));
  });
  it("stops at a symlink loop", () => {
    const d = tmp();
    symlinkSync("b", `${d}/a`);
    symlinkSync("a", `${d}/b`);
    expect(untrustedReason(`${d}/a/x`)).toMatch(/too many levels of symbolic links/);
  });
});
