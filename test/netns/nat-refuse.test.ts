// Bad input gets a clear error, exit 2, and changes nothing; a failing command exits 1 naming it.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeLab, type Lab } from "../helpers/lab.js";
import { hook, program } from "../helpers/netns.js";

let lab: Lab;
const state = async () =>
  [
    await lab.host.sh("ip -br link | sort"),
    await lab.host.sh("ip -4 -br addr | sort"),
    await lab.host.sh("nft list ruleset"),
    await lab.host.sh("iptables-save | grep -v '^#' || true"),
    await lab.host.sh("cat /proc/sys/net/ipv4/ip_forward"),
    await lab.host.sh(`ls -R ${lab.conf.dir}`),
  ].join("\n");

beforeAll(async () => {
  lab = await makeLab();
  await lab.host.sh("ip tuntap add vm0 mode tap");
});
afterAll(async () => await lab?.destroy());

describe("refused before anything changes (exit 2)", () => {
  const cases: [string, string[], RegExp][] = [
    ["a TAP that does not exist", ["vm9"], /^qemu-natup: TAP vm9 does not exist/],
    [
      "a TAP name over 15 characters",
      ["averyveryverylongtap"],
      /^qemu-natup: TAP "averyveryverylongtap" is 20 characters, at most 15/,
    ],
    ["a TAP name with bad characters", ["vm0;reboot"], /^qemu-natup: TAP .* outside \[A-Za-z0-9_.-\]/],
    [
      "a TAP that carries an address (a typo such as qemu-natup eth0)",
      ["up0"],
      /^qemu-natup: refusing up0: it carries the address 203\.0\.113\.1\/24/,
    ],
    ["no TAP", [], /^qemu-natup: expects exactly one argument, the TAP/],
    ["two arguments", ["vm0", "vm1"], /^qemu-natup: expects exactly one argument/],
  ];
  it.each(cases)("%s", async (_name, args, want) => {
    const before = await state();
    const r = await lab.host.tryRun(program("qemu-natup"), args, { env: { KVMNET_CONFIG: lab.conf.file } });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(want);
    expect(await state()).toBe(before);
  });

  it("a TAP that is a bridge", async () => {
    await lab.host.sh("ip link add fbr1 type bridge");
    const before = await state();
    const r = await lab.hook("qemu-natup", "fbr1");
    const after = await state();
    await lab.host.sh("ip link del fbr1");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing fbr1: it is a bridge/);
    expect(after).toBe(before);
  });

  it("a subnet the host already routes elsewhere: FILE:LINE: address", async () => {
    await lab.host.sh("ip route add 192.0.2.128/25 via 203.0.113.2 dev up0");
    const before = await state();
    const r = await lab.hook("qemu-natup", "vm0");
    await lab.host.sh("ip route del 192.0.2.128/25");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `qemu-natup: ${lab.conf.file}:8: address: subnet 192.0.2.0/24 collides with the host's route 192.0.2.128/25 dev up0 via 203.0.113.2`,
    );
    expect(await state()).toBe(before);
  });

  it("a wrong config: every problem with FILE:LINE: KEY", async () => {
    const file = `${lab.conf.dir}/bad.conf`;
    writeFileSync(
      file,
      "[nat0]\nmode = nat\nbridge = kvbr0\naddress = 192.0.2.1/24\ndhcp_rnage = 192.0.2.10,192.0.2.20\nmtu = big\n",
    );
    chmodSync(file, 0o644);
    const before = await state();
    const r = await hook(lab.host, "qemu-natup", "vm0", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `qemu-natup: ${file}:5: dhcp_rnage: unknown key; did you mean dhcp_range?\nqemu-natup: ${file}:6: mtu: "big" is not an MTU between 68 and 65535`,
    );
    expect(await state()).toBe(before);
  });

  it("a config not owned by root, or writable by group/others, or missing", async () => {
    const dir = `${lab.conf.dir}/perm`;
    mkdirSync(dir);
    const file = `${dir}/k.conf`;
    writeFileSync(file, "[nat0]\nmode = nat\nbridge = kvbr0\naddress = 192.0.2.1/24\n");
    chmodSync(file, 0o664);
    const before = await state();
    const w = await hook(lab.host, "qemu-natup", "vm0", file);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/k\.conf: writable by group or others \(mode 0664\): run chmod go-w/);
    expect(await state()).toBe(before);
    chmodSync(file, 0o644);
    chownSync(file, 65534, 65534);
    const r = await hook(lab.host, "qemu-natup", "vm0", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/k\.conf: owned by uid 65534, not root/);
    expect(await state()).toBe(before);
    const n = await hook(lab.host, "qemu-natup", "vm0", `${dir}/none.conf`);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/none\.conf: does not exist: `kvmnet install` writes a default one/);
    expect(await state()).toBe(before);
  });

  it("a network of a mode the program does not serve names the right program", async () => {
    const file = `${lab.conf.dir}/iso.conf`;
    writeFileSync(file, "[iso]\nmode = isolated\nbridge = isobr\n");
    chmodSync(file, 0o644);
    const before = await state();
    const r = await hook(lab.host, "qemu-natup", "vm0", file, { KVMNET_NETWORK: "iso" });
    expect(await state()).toBe(before);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /network iso .* is a isolated network, which qemu-natup does not serve .* use qemu-ifup-isolated/,
    );
  });
});

describe("a failing system command (exit 1)", () => {
  it("names the command and its stderr, so QEMU's 'failed with status 256' is not all a user sees", async () => {
    const bin = `${lab.conf.dir}/fakebin`;
    mkdirSync(bin);
    writeFileSync(
      `${bin}/nft`,
      "#!/bin/sh\necho 'Error: Could not process rule: Operation not permitted' >&2\nexit 1\n",
    );
    chmodSync(`${bin}/nft`, 0o755);
    const r = await lab.hook("qemu-natup", "vm0", { PATH: `${bin}:${process.env.PATH}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^qemu-natup: command failed: nft list tables: Error: Could not process rule: Operation not permitted/,
    );
  });
});
