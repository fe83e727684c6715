// What the README's two commands install (scripts/deps.sh demo|test): the demo nothing that is a daemon, and
// the test suite its daemons without starting or enabling them, leaving no policy-rc.d and no mask behind.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/netns.js";

const DAEMONS = [
  "docker.io",
  "containerd",
  "firewalld",
  "frr",
  "libvirt-daemon",
  "libvirt-daemon-system",
  "ufw",
  "apparmor",
  "dnsmasq",
];

function list(name: string): string[] {
  return readFileSync(join(ROOT, "scripts/deps", name), "utf8")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/)[0]!);
}

describe("package lists", () => {
  it("the demo's list names no daemon, and nothing it depends on is one", async () => {
    const demo = list("demo.list");
    expect(demo).toContain("qemu-system-x86");
    expect(demo.filter((p) => DAEMONS.includes(p))).toEqual([]);
    const r = await execa("apt-cache", [
      "depends",
      "--recurse",
      "--no-recommends",
      "--no-suggests",
      "--no-conflicts",
      "--no-breaks",
      "--no-replaces",
      "--no-enhances",
      ...demo,
    ]);
    const closure = new Set(r.stdout.split("\n").filter((l) => l && !l.startsWith(" ")));
    // The check itself can see a daemon: the test list's closure holds them.
    expect(closure.size).toBeGreaterThan(demo.length);
    expect(DAEMONS.filter((d) => closure.has(d))).toEqual([]);
  });

  it("the test list adds the daemons the suite runs itself, and repeats nothing of the demo's", () => {
    const demo = list("demo.list");
    const test = list("test.list");
    expect(test).toEqual(expect.arrayContaining(["docker.io", "firewalld", "frr", "libvirt-daemon", "ufw"]));
    expect(test.filter((p) => demo.includes(p))).toEqual([]);
  });

  it("deps.sh refuses to guess which list is meant", async () => {
    const r = await execa("bash", [join(ROOT, "scripts/deps.sh")], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/usage: bash scripts\/deps.sh demo\|test/);
  });
});

// A scratch root stands for the host: what quiet_begin/quiet_end do around an install whose postinst enables
// daemons the way deb-systemd-helper and update-rc.d do (links), beside links that were there before.
describe("install without starting or enabling (scripts/deps/quiet-install.sh)", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const link = (target: string, path: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    symlinkSync(target, join(root, path));
  };
  // Runs BODY (bash) between quiet_begin and quiet_end, as deps.sh does, with set -e.
  const install = (body: string) =>
    execa(
      "bash",
      [
        "-c",
        `set -euo pipefail; source "$1"; quiet_begin "$2"; ${body}; quiet_end`,
        "-",
        join(ROOT, "scripts/deps/quiet-install.sh"),
        root,
      ],
      {
        reject: false,
      },
    );
  const links = async () =>
    (await execa("find", [root, "-type", "l"])).stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => l.slice(root.length))
      .sort();
  const ENABLE =
    "ln -s /lib/systemd/system/docker.service $2/etc/systemd/system/multi-user.target.wants/docker.service; " +
    "mkdir -p $2/etc/systemd/system/sockets.target.wants; ln -s /lib/systemd/system/docker.socket $2/etc/systemd/system/sockets.target.wants/docker.socket; " +
    "ln -s /lib/systemd/system/firewalld.service $2/etc/systemd/system/dbus-org.fedoraproject.FirewallD1.service; " +
    "mkdir -p $2/etc/rc2.d; ln -s ../init.d/frr $2/etc/rc2.d/S01frr; " +
    "ln -s /lib/systemd/system/kvmtest-other.service $2/etc/systemd/system/multi-user.target.wants/kvmtest-other.service";

  function seed() {
    root = mkdtempSync(join(tmpdir(), "kvmnet-deps-"));
    link("/lib/systemd/system/getty@.service", "etc/systemd/system/getty.target.wants/getty@tty1.service");
    // A docker the admin enabled before: not ours to undo.
    link("/lib/systemd/system/containerd.service", "etc/systemd/system/multi-user.target.wants/containerd.service");
  }

  it("while installing, every start is refused; afterwards the daemons' new links are gone, the rest stays", async () => {
    seed();
    const before = await links();
    const r = await install(`"$2/usr/sbin/policy-rc.d" docker start && exit 7 || echo "refused $?"; ${ENABLE}`);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("refused 101");
    expect(await links()).toEqual(
      [...before, "/etc/systemd/system/multi-user.target.wants/kvmtest-other.service"].sort(),
    );
    expect(r.stderr).toMatch(/not enabling docker.socket/);
    expect(existsSync(join(root, "usr/sbin/policy-rc.d"))).toBe(false);
    // No mask anywhere: nothing points to /dev/null.
    for (const l of await links()) expect(readlinkSync(join(root, l))).not.toBe("/dev/null");
  });

  it("a failed install cleans up the same way, and the host's own policy-rc.d comes back unchanged", async () => {
    seed();
    mkdirSync(join(root, "usr/sbin"), { recursive: true });
    writeFileSync(join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = await install(`${ENABLE}; false`);
    expect(r.exitCode).toBe(1);
    expect(await links()).not.toContain("/etc/systemd/system/multi-user.target.wants/docker.service");
    expect(await links()).not.toContain("/etc/rc2.d/S01frr");
    expect(readFileSync(join(root, "usr/sbin/policy-rc.d"), "utf8")).toBe("#!/bin/sh\nexit 0\n");
    expect(lstatSync(join(root, "usr/sbin/policy-rc.d")).mode & 0o777).toBe(0o755);
    expect(existsSync(join(root, "usr/sbin/policy-rc.d.kvmnet-saved"))).toBe(false);
  });
});
