// The contract's four selection rules, in order, and the errors when none or the wrong mode applies.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { selectNetwork, globMatch } from "../../src/select.js";
import type { HookName } from "../../src/programs.js";

const config = parseConfig(
  "/etc/kvmnet.conf",
  `
[nat0]
mode = nat
bridge = natbr0
address = 192.0.2.1/24
taps = vm-nat*
[nat1]
mode = nat
bridge = natbr1
address = 198.51.100.1/24
[lan]
mode = bridge
bridge = br0
taps = lan-*
[iso]
mode = isolated
bridge = isobr
default = yes
`,
);
const pick = (program: HookName, tap: string, env?: string, suffix?: string) =>
  selectNetwork(config, { program, tap, envNet: env, suffixNet: suffix }).name;

describe("selection", () => {
  it("rule 1: KVMNET_NETWORK wins over everything", () => {
    expect(pick("qemu-natup", "lan-1", "nat1", "nat0")).toBe("nat1");
  });
  it("rule 2: the @NAME suffix of the program name", () => {
    expect(pick("qemu-natup", "lan-1", undefined, "nat1")).toBe("nat1");
  });
  it("rule 3: the taps glob", () => {
    expect(pick("qemu-natup", "vm-nat7")).toBe("nat0");
    expect(pick("qemu-ifup", "lan-3")).toBe("lan");
  });
  it("rule 4: the only network of the program's modes", () => {
    expect(pick("qemu-ifup-isolated", "tap9")).toBe("iso");
    expect(pick("qemu-ifup-bridge", "tap9")).toBe("lan");
  });
  it("rule 4 for qemu-ifup: the default = yes network", () => {
    expect(pick("qemu-ifup", "tap9")).toBe("iso");
    expect(pick("qemu-ifdown", "tap9")).toBe("iso");
  });
  it("no rule applies: exit 2 naming the candidates and the ways that work, libvirt's first", () => {
    expect(() => pick("qemu-natup", "tap9")).toThrow(
      "tap tap9 could join any of nat0, nat1: choose one: run this program as qemu-natup@NET (a link to it such as /etc/qemu-natup@nat0, given as the script); " +
        "or a taps glob in one network, such as taps = nat0-* (libvirt: give <target dev='nat0-0'/>, since names starting with vnet or macvtap are its own); " +
        "or default = yes in one of them (moved from [iso]: a file has one default); " +
        "or KVMNET_NETWORK=NET in QEMU's environment (plain QEMU only: libvirt passes scripts no environment)",
    );
  });
  it("rule 4 for every program: default = yes among the networks of its modes (issue 14 #3)", () => {
    const two = (extra0: string, extra1: string) =>
      parseConfig(
        "/c",
        `[a]\nmode = nat\nbridge = bra\naddress = 192.0.2.1/24\n${extra0}[b]\nmode = nat\nbridge = brb\naddress = 198.51.100.1/24\n${extra1}[i]\nmode = isolated\nbridge = bri\n`,
      );
    const sel = (c: ReturnType<typeof two>, program: HookName) => selectNetwork(c, { program, tap: "tap9" }).name;
    expect(sel(two("", "default = yes\n"), "qemu-natup")).toBe("b");
    expect(sel(two("", "default = true\n"), "qemu-natdown")).toBe("b");
    expect(sel(two("default = on\n", ""), "qemu-natup")).toBe("a");
    // the only isolated network wins for qemu-ifup-isolated although another network is the default
    expect(sel(two("", "default = yes\n"), "qemu-ifup-isolated")).toBe("i");
    expect(() => sel(two("", ""), "qemu-natup")).toThrow(
      /could join any of a, b: .*or default = yes in one of them; or KVMNET_NETWORK/,
    );
  });
  it("overlapping taps globs: the hint names the program-name link before KVMNET_NETWORK", () => {
    const c = parseConfig(
      "/c",
      "[a]\nmode = isolated\nbridge = bra\ntaps = vm*\n[b]\nmode = isolated\nbridge = brb\ntaps = vm1*\n",
    );
    expect(() => selectNetwork(c, { program: "qemu-ifup-isolated", tap: "vm12" })).toThrow(
      "tap vm12 matches the taps of several networks (a, b): make the globs disjoint, or run this program as qemu-ifup-isolated@NET (a link to it such as /etc/qemu-ifup-isolated@a, given as the script); or KVMNET_NETWORK=NET (plain QEMU only)",
    );
  });
  it("a network of the wrong mode names the program that serves it", () => {
    expect(() => pick("qemu-natup", "lan-1")).toThrow(
      /lan .* is a bridge network, which qemu-natup does not serve .*use qemu-ifup-bridge/,
    );
    expect(() => pick("qemu-natup", "x", "iso")).toThrow(/use qemu-ifup-isolated/);
  });
  it("an unknown network name is an error naming the defined ones", () => {
    expect(() => pick("qemu-natup", "x", "nope")).toThrow(
      /KVMNET_NETWORK names network "nope", which \/etc\/kvmnet.conf does not define \(it has: nat0, nat1, lan, iso\)/,
    );
  });
  it("globs match like the shell", () => {
    expect(globMatch("vnet*", "vnet12")).toBe(true);
    expect(globMatch("vnet?", "vnet12")).toBe(false);
    expect(globMatch("lab-[0-9]", "lab-3")).toBe(true);
    expect(globMatch("a.b", "axb")).toBe(false);
  });
});
