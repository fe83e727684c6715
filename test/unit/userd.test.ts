// The pure parts of QEMU as an ordinary user: the allow keys' validation, who may use which network, and the
// parsing of the service's requests (every malformed or forged form refused with its reason).
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { configNamesTap, mayUse, pickNetwork } from "../../src/cli/userd/allowed.js";
import { parseRequest } from "../../src/cli/userd/protocol.js";
import { nicMac, withMac, withTap } from "../../src/cli/userd/qemu-args.js";
import type { Who } from "../../src/cli/userd/who.js";

const conf = (keys: string) =>
  `[nat0]\nmode = nat\nbridge = kb0\naddress = 192.0.2.1/24\n${keys}\n[iso]\nmode = isolated\nbridge = kb1\nallow_users = carol\n`;
const alice: Who = {
  uid: 1000,
  user: "alice",
  groups: [
    { name: "alice", gid: 1000 },
    { name: "kvm", gid: 108 },
  ],
};
const bob: Who = { uid: 1001, user: "bob", groups: [{ name: "bob", gid: 1001 }] };

describe("allow_users, allow_groups", () => {
  it("names and ids are kept; absent keys leave root only", () => {
    const c = parseConfig("f", conf("allow_users = alice, 1002\nallow_groups = kvm"));
    expect(c.networks[0]!.allow).toEqual({ users: ["alice", "1002"], groups: ["kvm"] });
    expect(parseConfig("f", conf("")).networks[0]!.allow).toBeUndefined();
  });
  it.each([
    ["allow_users = Alice!", /^f:5: allow_users: "Alice!" is not a user name/],
    ["allow_users = ,", /^f:5: allow_users: is empty/],
    ["allow_groups = a b", /^f:5: allow_groups: "a b" is not a group name/],
  ])("%s is refused at its line", (line, want) => {
    expect(() => parseConfig("f", conf(line))).toThrow(want);
  });
  it("root always; a user by name or uid; a group by name or gid; nobody else", () => {
    const [nat0] = parseConfig("f", conf("allow_users = 1001\nallow_groups = kvm")).networks;
    expect(mayUse(nat0!, { uid: 0, user: "root", groups: [] })).toBe(true);
    expect(mayUse(nat0!, alice)).toBe(true); // group kvm
    expect(mayUse(nat0!, bob)).toBe(true); // uid 1001
    expect(mayUse(nat0!, { uid: 1003, user: "dave", groups: [{ name: "dave", gid: 108 }] })).toBe(false);
    const [byGid] = parseConfig("f", conf("allow_groups = 108")).networks;
    expect(mayUse(byGid!, alice)).toBe(true);
  });
  it("a refusal says who may allow it, and lists only what the caller may use", () => {
    const c = parseConfig("f", conf("allow_users = alice"));
    expect(pickNetwork(c, alice, undefined)).toMatchObject({ name: "nat0" });
    expect(pickNetwork(c, bob, "nat0")).toEqual({
      error:
        "user bob (uid 1001) may not use network nat0: root allows it with allow_users = bob (or allow_groups = GROUP, one of theirs) in [nat0] of f",
    });
    expect(pickNetwork(c, alice, "iso")).toMatchObject({
      error: expect.stringMatching(/networks alice may use: nat0$/),
    });
    expect(pickNetwork(c, bob, "nope")).toEqual({ error: "no network nope" });
    expect(pickNetwork(c, bob, undefined)).toMatchObject({
      error: expect.stringMatching(/^user bob \(uid 1001\) may use no network of f/),
    });
  });
});

describe("tap names the config gives their own policy", () => {
  it("are named with the key, its network and line; other names are free", () => {
    const c = parseConfig("f", conf("allow_users = alice\ntap.web0.port_isolation = no\ntap.db0.rate = 10mbit"));
    const nat0 = c.networks[0]!;
    expect(configNamesTap(c, "web0", nat0)).toMatch(
      /^tap web0 is named by tap\.web0\.port_isolation in \[nat0\] of f \(line 6\): .*root renames the key$/,
    );
    expect(configNamesTap(c, "db0", nat0)).toMatch(/^tap db0 is named by tap\.db0\.rate in \[nat0\] of f \(line 7\)/);
    expect(configNamesTap(c, "web1", nat0)).toBeNull();
  });
});

describe("tap names another network's taps glob claims", () => {
  it("are refused for a user's tap on any other network, naming the glob and its line; the network's own glob is its own", () => {
    const c = parseConfig("f", `${conf("allow_users = alice\ntaps = nat-*")}taps = iso-*, lab?\n`);
    const [nat0, iso] = c.networks;
    expect(configNamesTap(c, "iso-1", nat0!)).toBe(
      "tap iso-1 matches taps = iso-*, lab? of [iso] in f (line 11), not the network it is for (nat0): a user's tap never takes a name another network claims; leave --tap out, or choose another",
    );
    expect(configNamesTap(c, "lab7", nat0!)).toMatch(/^tap lab7 matches taps = iso-\*, lab\? of \[iso\]/);
    expect(configNamesTap(c, "nat-1", nat0!)).toBeNull();
    expect(configNamesTap(c, "nat-1", iso!)).toMatch(/^tap nat-1 matches taps = nat-\* of \[nat0\] in f \(line 6\)/);
    expect(configNamesTap(c, "vm1", nat0!)).toBeNull();
  });
});

describe("the service's requests", () => {
  it("accepts the three operations", () => {
    expect(parseRequest('{"op":"open"}')).toEqual({ op: "open" });
    expect(parseRequest('{"op":"open","network":"nat0","tap":"vm-1"}')).toEqual({
      op: "open",
      network: "nat0",
      tap: "vm-1",
    });
    expect(parseRequest('{"op":"open","mac":"52:54:00:AB:cd:01"}')).toEqual({ op: "open", mac: "52:54:00:AB:cd:01" });
    expect(parseRequest('{"op":"list"}')).toEqual({ op: "list" });
    expect(parseRequest('{"op":"remove","tap":"ku1000n0"}')).toEqual({ op: "remove", tap: "ku1000n0" });
  });
  it.each([
    ["", /not JSON/],
    ["null", /not an object/],
    ['"open"', /not an object/],
    ["{}", /op is missing/],
    ['{"op":"OPEN"}', /op is "OPEN", not open, list or remove/],
    ['{"op":"open","uid":0}', /^forged request: field "uid"/],
    ['{"op":"list","gid":0}', /^forged request: field "gid"/],
    ['{"op":"open","network":"nat0","as":"root"}', /^forged request/],
    ['{"op":"open","color":"red"}', /unknown field "color" for op open/],
    ['{"op":"list","tap":"x"}', /unknown field "tap" for op list/],
    ['{"op":"remove"}', /remove needs the tap/],
    ['{"op":"open","tap":7}', /tap is not a string/],
    ['{"op":"open","tap":"a-very-long-tap-name"}', /at most 15/],
    ['{"op":"open","tap":"a/b"}', /characters outside/],
    ['{"op":"open","tap":"all"}', /reserved by the kernel/],
    ['{"op":"open","network":"../x"}', /characters outside/],
    ['{"op":"open","mac":7}', /^mac is not a string/],
    ['{"op":"open","mac":"52:54:00:12:34"}', /^mac "52:54:00:12:34" is not a MAC address/],
    ['{"op":"open","mac":"52-54-00-12-34-56"}', /is not a MAC address/],
    ['{"op":"open","mac":"33:33:00:00:00:01"}', /^mac 33:33:00:00:00:01 is a multicast address/],
    ['{"op":"open","mac":"ff:ff:ff:ff:ff:ff"}', /is a multicast address/],
    ['{"op":"open","mac":"00:00:00:00:00:00"}', /is the zero address/],
    ['{"op":"list","mac":"52:54:00:12:34:56"}', /unknown field "mac" for op list/],
  ])("%s is refused", (line, want) => {
    const r = parseRequest(line);
    expect(r).toHaveProperty("error");
    expect((r as { error: string }).error).toMatch(want);
  });
});

describe("kvmnet-qemu's QEMU arguments and the guard's MAC", () => {
  const dev = ["-device", "virtio-net-pci,netdev=kvmnet0"];
  it("reads the NIC's MAC on the tap it asks for: its own -netdev, a {tap} -netdev or -nic, a --tap name", () => {
    expect(nicMac([...dev.slice(0, 1), "virtio-net-pci,netdev=kvmnet0,mac=52:54:00:AA:00:01"])).toBe(
      "52:54:00:aa:00:01",
    );
    expect(nicMac(["-netdev", "tap,id=n0,ifname={tap}", "-device", "e1000,netdev=n0,mac=52:54:00:00:00:02"])).toBe(
      "52:54:00:00:00:02",
    );
    expect(nicMac(["-nic", "tap,ifname={tap},mac=52:54:00:00:00:03"])).toBe("52:54:00:00:00:03");
    expect(nicMac(["-netdev", "tap,id=n0,ifname=vm7", "-device", "e1000,netdev=n0,mac=52:54:00:00:00:04"], "vm7")).toBe(
      "52:54:00:00:00:04",
    );
    // Another NIC's MAC is not this tap's.
    expect(nicMac(["-nic", "user,mac=52:54:00:00:00:05", ...dev])).toBeUndefined();
    expect(nicMac(["-netdev", "tap,id=n0,ifname=other", "-device", "e1000,netdev=n0,mac=52:54:00:00:00:06"])).toBe(
      undefined,
    );
  });
  it("writes a chosen MAC into the NIC on the tap that has none, and says when there is no such NIC", () => {
    const mac = "02:00:00:00:00:07";
    expect(withMac(withTap(dev, "ku1n0"), "ku1n0", mac)).toEqual({
      argv: [
        "-device",
        `virtio-net-pci,netdev=kvmnet0,mac=${mac}`,
        "-netdev",
        expect.stringMatching(/^tap,id=kvmnet0,ifname=ku1n0,/),
      ],
      placed: true,
    });
    expect(withMac(withTap(["-nic", "tap,ifname={tap}", "-nic", "user"], "ku1n0"), "ku1n0", mac)).toEqual({
      argv: ["-nic", `tap,ifname=ku1n0,mac=${mac}`, "-nic", "user"],
      placed: true,
    });
    expect(withMac(withTap(["-m", "1G"], "ku1n0"), "ku1n0", mac).placed).toBe(false);
  });
});
