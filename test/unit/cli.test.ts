// The CLI's own logic without a host: dispatch and usage errors, option parsing, leases, colour, the status picture.
import { afterEach, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../src/errors.js";
import { runCli } from "../../src/cli/verbs.js";
import { parseLeases } from "../../src/cli/leases.js";
import { paint, wantColour } from "../../src/cli/output.js";
import { drawNetwork } from "../../src/cli/status-view.js";
import type { NetworkStatus } from "../../src/cli/status.js";
import { pickNetworks } from "../../src/cli/networks.js";
import { guestPorts } from "../../src/converge/preflight.js";
import { parseConfig } from "../../src/config/validate.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((s) => (err.push(String(s)), true));
  return { out: () => out.join(""), err: () => err.join("") };
}
afterEach(() => vi.restoreAllMocks());

describe("kvmnet dispatch", () => {
  it("--help and help print the command list on stdout, exit 0", async () => {
    for (const a of [["--help"], ["-h"], ["help"]]) {
      const c = capture();
      expect(await runCli(a, {})).toBe(0);
      expect(c.out()).toMatch(/^usage: kvmnet COMMAND/);
      for (const cmd of ["status", "up", "down", "check", "plan", "doctor", "install"])
        expect(c.out()).toContain(`  ${cmd} `);
      vi.restoreAllMocks();
    }
  });
  it("no command: usage on stderr, exit 2", async () => {
    const c = capture();
    expect(await runCli([], {})).toBe(2);
    expect(c.err()).toMatch(/^usage: kvmnet/);
    expect(c.out()).toBe("");
  });
  it("an unknown command is a usage error with a suggestion", async () => {
    await expect(runCli(["stats"], {})).rejects.toThrow(/unknown command "stats"; did you mean status\?/);
    await expect(runCli(["frobnicate"], {})).rejects.toBeInstanceOf(UsageError);
  });
  it("every command answers --help (and `help CMD`) with its own usage, exit 0, touching nothing", async () => {
    for (const cmd of ["status", "up", "down", "check", "plan", "doctor"]) {
      for (const args of [
        [cmd, "--help"],
        ["help", cmd],
        [cmd, "--bogus", "-h"],
      ]) {
        const c = capture();
        // No config exists at this path: --help must not need one.
        expect(await runCli(args, { KVMNET_CONFIG: "/nonexistent/kvmnet.conf" })).toBe(0);
        expect(c.out()).toMatch(new RegExp(`^usage: kvmnet ${cmd}\\b`));
        vi.restoreAllMocks();
      }
    }
  });
  it("unknown options and extra arguments are usage errors naming the command", async () => {
    await expect(runCli(["status", "--jsn"], {})).rejects.toThrow(
      /^status: Unknown option '--jsn' \(see kvmnet status --help\)$/,
    );
    await expect(runCli(["doctor", "extra"], {})).rejects.toThrow(/doctor: unexpected argument "extra"/);
    await expect(runCli(["plan", "a", "b"], {})).rejects.toThrow(/plan: unexpected argument "b"/);
  });
});

describe("which networks", () => {
  const config = parseConfig(
    "/c",
    "[a]\nmode = isolated\nbridge = bra\nautostart = yes\n[b]\nmode = isolated\nbridge = brb\n",
  );
  it("NET, --all, --autostart", () => {
    expect(pickNetworks(config, { net: "b" }, "up").map((n) => n.name)).toEqual(["b"]);
    expect(pickNetworks(config, { all: true }, "up").map((n) => n.name)).toEqual(["a", "b"]);
    expect(pickNetworks(config, { autostart: true }, "up").map((n) => n.name)).toEqual(["a"]);
  });
  it("none, several, or an unknown one are usage errors", () => {
    expect(() => pickNetworks(config, {}, "up")).toThrow(/up: name a network, or --all or --autostart/);
    expect(() => pickNetworks(config, { net: "a", all: true }, "down")).toThrow(/either a network name or --all/);
    expect(() => pickNetworks(config, { net: "zz" }, "up")).toThrow(/no network "zz" in \/c \(it has: a, b\)/);
  });
  it("a bridge network's uplink and a VLAN trunk are not VM ports", () => {
    const c = parseConfig(
      "/c",
      "[lan]\nmode = bridge\nbridge = br0\nuplink = eth0\n[v]\nmode = bridge\nbridge = brv\nvlan = 10\ntrunk = eth1\n",
    );
    expect(guestPorts(c.networks[0]!, ["eth0", "vnet1"])).toEqual(["vnet1"]);
    expect(guestPorts(c.networks[1]!, ["eth1.10", "vnet2"])).toEqual(["vnet2"]);
  });
});

describe("dnsmasq lease file", () => {
  it("parses leases, `*` hostnames and never-expiring ones; skips DUID lines", () => {
    const text =
      "1700000000 52:54:00:AA:bb:01 192.0.2.10 web 01:52:54:00:aa:bb:01\n0 52:54:00:aa:bb:02 192.0.2.11 * *\nduid 00:01:00:01\n\n";
    expect(parseLeases(text)).toEqual([
      { mac: "52:54:00:aa:bb:01", ip: "192.0.2.10", hostname: "web", expires: "2023-11-14T22:13:20.000Z" },
      { mac: "52:54:00:aa:bb:02", ip: "192.0.2.11", hostname: null, expires: null },
    ]);
  });
});

describe("colour", () => {
  it("only on a terminal, never with NO_COLOR (even empty) or TERM=dumb", () => {
    expect(wantColour(true, {})).toBe(true);
    expect(wantColour(false, {})).toBe(false);
    expect(wantColour(true, { NO_COLOR: "" })).toBe(false);
    expect(wantColour(true, { NO_COLOR: "1" })).toBe(false);
    expect(wantColour(true, { TERM: "dumb" })).toBe(false);
    expect(paint(false).bad("x")).toBe("x");
    expect(paint(true).bad("x")).toBe("\x1b[31mx\x1b[0m");
  });
});

describe("status picture", () => {
  const base: NetworkStatus = {
    name: "lab",
    mode: "nat",
    bridge: "kvbr0",
    up: true,
    ports: ["vnet1", "vnet2"],
    leases: [
      { mac: "52:54:00:00:00:01", ip: "192.0.2.10", hostname: "web", expires: null },
      { mac: "52:54:00:00:00:02", ip: "192.0.2.101", hostname: null, expires: "2000-01-01T00:00:00.000Z" },
    ],
    exists: true,
    createdByKvmnet: true,
    mac: "02:6b:76:01:02:03",
    mtu: 1500,
    address: "192.0.2.1/24",
    addresses: ["192.0.2.1/24"],
    uplink: { name: "eth0", present: true, up: true },
    portDetails: [
      { name: "vnet1", mac: "fe:54:00:00:00:01", mtu: 1500, up: true, role: "vm" },
      { name: "vnet2", mac: "fe:54:00:00:00:02", mtu: 1500, up: false, role: "vm" },
    ],
    firewall: {
      backend: "nftables",
      object: "table inet kvmnet, chains input-lab, from-lab, to-lab, nat-lab",
      state: "in-place",
    },
    dnsmasq: { state: "running", pid: 42, range: "192.0.2.100-192.0.2.150" },
    forwarding: true,
    pending: 0,
  };
  it("draws the bridge, its taps, the uplink, rules, dnsmasq and leases", () => {
    expect(drawNetwork(base, paint(false), Date.parse("2020-01-01")).join("\n")).toBe(
      [
        "lab  nat  up, as configured",
        "  kvbr0  02:6b:76:01:02:03  192.0.2.1/24  mtu 1500",
        "  ├── vnet1  fe:54:00:00:00:01  up",
        "  ├── vnet2  fe:54:00:00:00:02  down",
        "  └── ⇢ eth0  (NAT)",
        "  firewall  nftables table inet kvmnet, chains input-lab, from-lab, to-lab, nat-lab: in place",
        "  dhcp      dnsmasq pid 42: running, range 192.0.2.100-192.0.2.150",
        "  leases    52:54:00:00:00:01  192.0.2.10       web",
        "            52:54:00:00:00:02  192.0.2.101      -  (expired)",
      ].join("\n"),
    );
  });
  it("a missing network says how to bring it up; pending changes point to plan", () => {
    expect(drawNetwork({ ...base, exists: false, up: false }, paint(false))).toEqual([
      "lab  nat  down  (kvmnet up lab)",
      "  kvbr0  (no such bridge)",
    ]);
    expect(drawNetwork({ ...base, pending: 2 }, paint(false))[0]).toBe(
      "lab  nat  up, 2 changes pending  (kvmnet plan lab)",
    );
  });
  it("a bridge network shows its uplink as a port", () => {
    const lan: NetworkStatus = {
      ...base,
      mode: "bridge",
      firewall: null,
      dnsmasq: null,
      leases: [],
      address: null,
      addresses: [],
      createdByKvmnet: false,
      portDetails: [
        { name: "vnet1", mac: "fe:54:00:00:00:01", mtu: 1500, up: true, role: "vm" },
        { name: "eth0", mac: "00:11:22:33:44:55", mtu: 1500, up: true, role: "uplink" },
      ],
    };
    expect(drawNetwork(lan, paint(false)).slice(1)).toEqual([
      "  kvbr0  02:6b:76:01:02:03  mtu 1500  (not created by kvmnet)",
      "  ├── eth0  00:11:22:33:44:55  up  (uplink)",
      "  └── vnet1  fe:54:00:00:00:01  up",
    ]);
  });
});
