// The generic qemu-ifup / qemu-ifdown in real namespaces: each of the four selection rules picks the network
// a TAP joins (and the earlier rule wins), ambiguity and a wrong mode are refused with exit 2 naming the
// way out, and nothing is changed by a refusal.
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { program } from "../helpers/netns.js";
import { makeLab, nsState, type Lab } from "./models-lab.js";

// Four networks, one of each mode served by the specific hooks, plus routed; only `ho` has default = yes.
const body = (br: string) => `[iso]
mode = isolated
bridge = ${br}i
taps = iso-*

[ho]
mode = host-only
bridge = ${br}h
address = 192.0.2.1/24
default = yes

[rt]
mode = routed
bridge = ${br}r
address = 198.51.100.1/24
taps = rt-*

[lan]
mode = bridge
bridge = ${br}l
`;

describe("qemu-ifup / qemu-ifdown selection", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());
  const masterOf = async (tap: string) =>
    await lab.host.sh(`basename "$(readlink /sys/class/net/${tap}/master 2>/dev/null)" 2>/dev/null || true`);

  it("rule 1: KVMNET_NETWORK, over a taps glob and the default", async () => {
    lab = await makeLab({ body });
    await lab.addGuest("rt-1");
    const r = await lab.hook("qemu-ifup", "rt-1", { KVMNET_NETWORK: "iso" });
    expect(r.code, r.stderr).toBe(0);
    expect(await masterOf("rt-1")).toBe(`${lab.bridge}i`);
    expect((await lab.hook("qemu-ifdown", "rt-1", { KVMNET_NETWORK: "iso" })).code).toBe(0);
    expect(await masterOf("rt-1")).toBe("");
  });

  it("rule 2: the program name's @NET suffix (a symlink), over a taps glob", async () => {
    lab = await makeLab({ body });
    await lab.addGuest("iso-1");
    const up = join(lab.conf.dir, "qemu-ifup@rt");
    const down = join(lab.conf.dir, "qemu-ifdown@rt");
    symlinkSync(program("qemu-ifup"), up);
    symlinkSync(program("qemu-ifdown"), down);
    const r = await lab.host.tryRun(up, ["iso-1"], { env: { KVMNET_CONFIG: lab.conf.file } });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(await masterOf("iso-1")).toBe(`${lab.bridge}r`);
    expect(await lab.host.sh("cat /proc/sys/net/ipv4/ip_forward")).toBe("1");
    expect((await lab.host.tryRun(down, ["iso-1"], { env: { KVMNET_CONFIG: lab.conf.file } })).exitCode).toBe(0);
    expect(await masterOf("iso-1")).toBe("");
  });

  it("rule 3: the taps glob, over the default", async () => {
    lab = await makeLab({ body });
    await lab.addGuest("iso-7");
    expect((await lab.hook("qemu-ifup", "iso-7")).code).toBe(0);
    expect(await masterOf("iso-7")).toBe(`${lab.bridge}i`);
  });

  it("rule 4: the default = yes network for qemu-ifup; qemu-ifdown finds the same", async () => {
    lab = await makeLab({ body });
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-ifup", "vm0")).code).toBe(0);
    expect(await masterOf("vm0")).toBe(`${lab.bridge}h`);
    expect((await lab.hook("qemu-ifdown", "vm0")).code).toBe(0);
    expect(await masterOf("vm0")).toBe("");
  });

  it("rule 4: the only network of the program's modes; several without a default are refused", async () => {
    lab = await makeLab({ body: (br) => body(br).replace("default = yes\n", "") });
    await lab.addGuest("vm0");
    const before = await nsState(lab.host);
    // qemu-ifup-bridge serves one network here, so rule 4 picks lan, whose bridge is missing yet: refused.
    const missing = await lab.hook("qemu-ifup-bridge", "vm0");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(new RegExp(`kvmnet.conf:\\d+: bridge: ${lab.bridge}l does not exist`));
    const none = await lab.hook("qemu-ifup", "vm0");
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /^qemu-ifup: tap vm0 could join any of iso, ho, rt, lan: choose one: run this program as qemu-ifup@NET .*; or a taps glob .*; or default = yes in one of them; or KVMNET_NETWORK=NET .*\(plain QEMU only: libvirt passes scripts no environment\)$/,
    );
    const iso = await lab.hook("qemu-ifup-isolated", "vm0");
    expect(iso.code).toBe(2);
    expect(iso.stderr).toMatch(/could join any of iso, ho:/);
    expect(await nsState(lab.host)).toBe(before);
    await lab.host.sh(`ip link add ${lab.bridge}l type bridge`);
    expect((await lab.hook("qemu-ifup-bridge", "vm0")).code).toBe(0);
    expect(await masterOf("vm0")).toBe(`${lab.bridge}l`);
  });

  it("a network of a mode the program does not serve: exit 2 naming the program that does, nothing changed", async () => {
    lab = await makeLab({ body });
    await lab.addGuest("vm0");
    await lab.addGuest("rt-2");
    const before = await nsState(lab.host);
    const cases: [string, string, Record<string, string>, string][] = [
      [
        "qemu-ifup-isolated",
        "vm0",
        { KVMNET_NETWORK: "rt" },
        "network rt (chosen by KVMNET_NETWORK) is a routed network, which qemu-ifup-isolated does not serve (mode host-only or isolated); use qemu-ifup or the generic qemu-ifup/qemu-ifdown",
      ],
      [
        "qemu-ifup-bridge",
        "vm0",
        { KVMNET_NETWORK: "ho" },
        "network ho (chosen by KVMNET_NETWORK) is a host-only network, which qemu-ifup-bridge does not serve (mode bridge); use qemu-ifup-isolated or the generic qemu-ifup/qemu-ifdown",
      ],
      [
        "qemu-natup",
        "vm0",
        { KVMNET_NETWORK: "lan" },
        "network lan (chosen by KVMNET_NETWORK) is a bridge network, which qemu-natup does not serve (mode nat); use qemu-ifup-bridge or the generic qemu-ifup/qemu-ifdown",
      ],
      [
        "qemu-ifup-isolated",
        "rt-2",
        {},
        "network rt (chosen by taps glob of [rt]) is a routed network, which qemu-ifup-isolated does not serve (mode host-only or isolated); use qemu-ifup or the generic qemu-ifup/qemu-ifdown",
      ],
    ];
    for (const [prog, tap, env, message] of cases) {
      const r = await lab.hook(prog, tap, env);
      expect(r.code, `${prog} ${tap}`).toBe(2);
      expect(r.stderr).toBe(`${prog}: ${message}`);
    }
    const unknown = await lab.hook("qemu-ifup", "vm0", { KVMNET_NETWORK: "nope" });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /KVMNET_NETWORK names network "nope", which .* does not define \(it has: iso, ho, rt, lan\)/,
    );
    expect(await nsState(lab.host)).toBe(before);
  });
});
