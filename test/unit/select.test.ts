// The contract's four selection rules, in order, and the errors when none or the wrong mode applies.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { selectNetwork, globMatch } from "../../src/select.js";
import type { HookName } from "../../src/programs.js";

const config = parseConfig("/etc/kvmnet.conf", `
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
`);
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
  it("no rule applies: exit 2 naming the candidates and how to choose", () => {
    expect(() => pick("qemu-natup", "tap9")).toThrow(/could join any of nat0, nat1: choose with KVMNET_NETWORK=NAME, a program name PROGRAM@NAME/);
  });
  it("a network of the wrong mode names the program that serves it", () => {
    expect(() => pick("qemu-natup", "lan-1")).toThrow(/lan .* is a bridge network, which qemu-natup does not serve .*use qemu-ifup-bridge/);
    expect(() => pick("qemu-natup", "x", "iso")).toThrow(/use qemu-ifup-isolated/);
  });
  it("an unknown network name is an error naming the defined ones", () => {
    expect(() => pick("qemu-natup", "x", "nope")).toThrow(/KVMNET_NETWORK names network "nope", which \/etc\/kvmnet.conf does not define \(it has: nat0, nat1, lan, iso\)/);
  });
  it("globs match like the shell", () => {
    expect(globMatch("vnet*", "vnet12")).toBe(true);
    expect(globMatch("vnet?", "vnet12")).toBe(false);
    expect(globMatch("lab-[0-9]", "lab-3")).toBe(true);
    expect(globMatch("a.b", "axb")).toBe(false);
  });
});
