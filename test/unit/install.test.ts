// kvmnet install: argument parsing, what lands in the directory, and that nothing existing is ever replaced.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { install, parseInstallArgs, runInstall } from "../../src/cli/install.js";
import { programSource } from "../../src/host/program-source.js";
import { parseConfig } from "../../src/config/validate.js";
import { HOOKS } from "../../src/programs.js";
const ROOT = resolve(import.meta.dirname, "../..");

const TEMPLATE_FILE = resolve(import.meta.dirname, "../../etc-templates/kvmnet.conf");
const TEMPLATE = readFileSync(TEMPLATE_FILE, "utf8");
// The built programs embed the template through esbuild's text loader, which vitest does not have.
vi.mock("../../src/cli/template.js", () => ({
  CONF_TEMPLATE: readFileSync(resolve(import.meta.dirname, "../../etc-templates/kvmnet.conf"), "utf8"),
}));

const NAMES = Object.keys(HOOKS);
let dir: string;
let source: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kvmnet-install-"));
  source = join(dir, "kvmnet-program");
  writeFileSync(source, "#!/bin/sh\necho kvmnet\n");
  chmodSync(source, 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("parseInstallArgs", () => {
  it.each([
    [[], { dest: "/etc", copy: false }],
    [["--copy"], { dest: "/etc", copy: true }],
    [["--dest", "/opt/x"], { dest: "/opt/x", copy: false }],
    [["--dest=/opt/y", "--copy"], { dest: "/opt/y", copy: true }],
    [["--dest", "rel"], { dest: resolve("rel"), copy: false }],
  ])("%j", (args, want) => expect(parseInstallArgs(args)).toEqual(want));

  it.each([[["--dest"]], [["--dest="]], [["--bogus"]], [["etc"]]])("%j is a usage error", (args) => {
    expect(parseInstallArgs(args)).toMatch(/see kvmnet install --help/);
  });

  it("--help", () => expect(parseInstallArgs(["--dest", "/x", "-h"])).toBeNull());
});

describe("install", () => {
  it("links every hook name to the program and writes the config from the template", () => {
    const dest = join(dir, "etc");
    const placed = install({ dest, copy: false }, () => source, TEMPLATE);
    expect(placed.map((p) => p.kind)).toEqual([
      ...NAMES.map(() => "linked"),
      "wrote",
      "wrote",
      "wrote",
      "wrote",
      "wrote",
    ]);
    for (const name of NAMES) expect(readlinkSync(join(dest, name))).toBe(source);
    expect(readFileSync(join(dest, "kvmnet.conf"), "utf8")).toBe(TEMPLATE);
    expect(statSync(join(dest, "kvmnet.conf")).mode & 0o777).toBe(0o644);
    // The units run this kvmnet; the .deb ships the same text for /usr/bin/kvmnet.
    const reapply = readFileSync(join(dest, "systemd/system/kvmnet-reapply.service"), "utf8");
    expect(reapply).toContain(`ExecStart=${source} reapply`);
    expect(reapply).toContain("PartOf=nftables.service firewalld.service");
    expect(reapply.replaceAll(source, "/usr/bin/kvmnet")).toBe(
      readFileSync(join(ROOT, "scripts/deb/kvmnet-reapply.service"), "utf8"),
    );
    const watch = readFileSync(join(dest, "systemd/system/kvmnet-watch.service"), "utf8");
    expect(watch.replaceAll(source, "/usr/bin/kvmnet")).toBe(
      readFileSync(join(ROOT, "scripts/deb/kvmnet-watch.service"), "utf8"),
    );
    for (const unit of ["kvmnet-userd.socket", "kvmnet-userd.service"])
      expect(readFileSync(join(dest, "systemd/system", unit), "utf8").replaceAll(source, "/usr/bin/kvmnet"), unit).toBe(
        readFileSync(join(ROOT, "scripts/deb", unit), "utf8"),
      );
  });

  it("a second run changes nothing and says so", () => {
    install({ dest: dir, copy: false }, () => source, TEMPLATE);
    const again = install({ dest: dir, copy: false }, () => source, TEMPLATE);
    expect(again.map((p) => p.kind)).toEqual([...NAMES.map(() => "present"), "kept", "kept", "kept", "kept", "kept"]);
  });

  it("copies with --copy: executable, byte for byte; a second run sees its own copies", () => {
    const placed = install({ dest: dir, copy: true }, () => source, TEMPLATE);
    expect(placed.filter((p) => p.kind === "copied")).toHaveLength(NAMES.length);
    for (const name of NAMES) {
      const p = join(dir, name);
      expect(lstatSync(p).isFile()).toBe(true);
      expect(statSync(p).mode & 0o777).toBe(0o755);
      expect(readFileSync(p, "utf8")).toBe(readFileSync(source, "utf8"));
    }
    expect(install({ dest: dir, copy: true }, () => source, TEMPLATE).map((p) => p.kind)).toEqual([
      ...NAMES.map(() => "present"),
      "kept",
      "kept",
      "kept",
      "kept",
      "kept",
    ]);
  });

  it("never replaces someone else's file, link or config", () => {
    writeFileSync(join(dir, "qemu-ifup"), "#!/bin/sh\n# the distribution's own script\n");
    symlinkSync("/usr/bin/elsewhere", join(dir, "qemu-ifdown"));
    writeFileSync(join(dir, "qemu-natup"), "#!/bin/sh\n# a different program\n");
    writeFileSync(join(dir, "kvmnet.conf"), "[mine]\n");
    for (const copy of [false, true]) {
      const placed = install({ dest: dir, copy }, () => source, TEMPLATE);
      const kinds = Object.fromEntries(placed.map((p) => [p.path.slice(dir.length + 1), p.kind]));
      expect(kinds).toMatchObject({
        "qemu-ifup": "kept",
        "qemu-ifdown": "kept",
        "qemu-natup": "kept",
        "kvmnet.conf": "kept",
      });
      expect(readFileSync(join(dir, "qemu-ifup"), "utf8")).toContain("distribution's own");
      expect(readlinkSync(join(dir, "qemu-ifdown"))).toBe("/usr/bin/elsewhere");
      expect(readFileSync(join(dir, "qemu-natup"), "utf8")).toContain("different program");
      expect(readFileSync(join(dir, "kvmnet.conf"), "utf8")).toBe("[mine]\n");
    }
  });

  it("a link that leads to the program through another link counts as installed", () => {
    const alias = join(dir, "kvmnet-alias");
    symlinkSync(source, alias);
    symlinkSync(alias, join(dir, "qemu-natup"));
    const placed = install({ dest: dir, copy: false }, () => source, TEMPLATE);
    expect(placed.find((p) => p.path.endsWith("/qemu-natup"))?.kind).toBe("present");
  });

  it("reports a directory it cannot create", () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    expect(install({ dest: join(file, "etc"), copy: false }, () => source, TEMPLATE)).toEqual([
      expect.objectContaining({ kind: "failed", note: expect.stringContaining("cannot create the directory") }),
    ]);
  });
});

describe("programSource under node", () => {
  it("points each name at its own bundle beside the running script (through npm's bin link), else at the script", () => {
    const dist = join(dir, "lib/node_modules/kvmnet/dist");
    mkdirSync(dist, { recursive: true });
    for (const f of ["kvmnet.cjs", "qemu-natup.cjs"]) writeFileSync(join(dist, f), "");
    mkdirSync(join(dir, "bin"));
    symlinkSync("../lib/node_modules/kvmnet/dist/kvmnet.cjs", join(dir, "bin/kvmnet"));
    const source = programSource([process.execPath, join(dir, "bin/kvmnet"), "install"]);
    const real = realpathSync(dist);
    expect(source("qemu-natup")).toBe(join(real, "qemu-natup.cjs"));
    expect(source("qemu-ifup")).toBe(join(real, "kvmnet.cjs"));
  });

  it("install links each name to what the source says", () => {
    const placed = install({ dest: dir, copy: false }, (name) => `/opt/kvmnet/${name}.cjs`, TEMPLATE);
    for (const name of NAMES) expect(readlinkSync(join(dir, name))).toBe(`/opt/kvmnet/${name}.cjs`);
    expect(placed.filter((p) => p.kind === "linked")).toHaveLength(NAMES.length);
  });
});

describe("runInstall", () => {
  function run(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true));
    const e = vi.spyOn(process.stderr, "write").mockImplementation((s) => (err.push(String(s)), true));
    return runInstall(args, {})
      .finally(() => (o.mockRestore(), e.mockRestore()))
      .then((code) => ({ code, out: out.join(""), err: err.join("") }));
  }

  it("links to the running program (here: the script node runs) and says what it did", async () => {
    const r = await run(["--dest", dir]);
    expect(r.code).toBe(0);
    const self = realpathSync(process.argv[1]!);
    for (const name of NAMES) {
      expect(readlinkSync(join(dir, name))).toBe(self);
      expect(r.out).toContain(`linked  ${join(dir, name)} -> ${self}\n`);
    }
    expect(r.out).toContain(`wrote   ${join(dir, "kvmnet.conf")}`);
    expect(readFileSync(join(dir, "kvmnet.conf"), "utf8")).toBe(TEMPLATE);
    // The units say what they are and how to enable them (not the config template's note).
    const units = join(dir, "systemd/system");
    expect(r.out).toContain(
      `wrote   ${units}/kvmnet-reapply.service (unit; to re-apply after nftables or firewalld (re)load: ` +
        "systemctl daemon-reload; systemctl enable kvmnet-reapply.service)\n",
    );
    expect(r.out).toContain(
      `wrote   ${units}/kvmnet-watch.service (unit; to run kvmnet watch: systemctl daemon-reload; ` +
        "systemctl enable --now kvmnet-watch.service)\n",
    );
    const again = await run(["--dest", dir]);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`kept    ${join(dir, "kvmnet.conf")}: exists, left as it is`);
  });

  it("exit 2 on a usage error, nothing written", async () => {
    const r = await run(["--dest", join(dir, "x"), "--force"]);
    expect(r).toMatchObject({ code: 2, out: "" });
    expect(r.err).toBe('kvmnet: install: unexpected argument "--force" (see kvmnet install --help)\n');
    expect(() => statSync(join(dir, "x"))).toThrow();
  });

  it("exit 1 when a file cannot be written, named on stderr", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const r = await run(["--dest", file]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^kvmnet: install: failed  .*a-file: cannot create the directory: a file that is not a directory is in the way\n$/,
    );
  });
});

describe("the template", () => {
  it("is a valid config with one NAT network, the default, not autostarted", () => {
    const c = parseConfig(TEMPLATE_FILE, TEMPLATE);
    expect(c.networks.map((n) => [n.name, n.mode, n.bridge, n.isDefault, n.autostart, n.teardown])).toEqual([
      ["default", "nat", "kvmnet0", true, false, "keep"],
    ]);
  });

  it("stays valid when each commented example network is switched on", () => {
    const on = TEMPLATE.replace(/^;(\[\w+\]|(mode|bridge|uplink|address|dhcp_range)\s*=.*)$/gm, "$1").replace(
      /^uplink\s*=.*$/m,
      "",
    );
    expect(parseConfig(TEMPLATE_FILE, on).networks.map((n) => `${n.name}:${n.mode}`)).toEqual([
      "default:nat",
      "lan:bridge",
      "private:isolated",
      "hostonly:host-only",
    ]);
  });
});
