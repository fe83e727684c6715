// A lease event's decision (src/decide/guard-lease.ts), from the event and the lease record given as data: the
// pair into or out of the guard's set always, the record rewritten only when the pair's presence in it changes.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { leaseEventSteps, parseLeaseEvent } from "../../src/decide/guard-lease.js";
import type { LeaseRecord } from "../../src/observe/guard-state.js";
import { guardIpScript } from "../../src/firewall/nft/guard.js";

const config = parseConfig(
  "/x",
  "[global]\nstate_dir = /run/k\n[n]\nmode = nat\nbridge = kv0\naddress = 192.0.2.1/24\n" +
    "dhcp_range = 192.0.2.100,192.0.2.200\nguard = yes\n",
);
const net = config.networks[0]!;
const A = "52:54:00:00:00:01";
const B = "52:54:00:00:00:02";
const env = { DNSMASQ_INTERFACE: "kv0" };
const record = (leases: { mac: string; ip: string }[]): LeaseRecord => ({ config, net, leases });
const ev = (args: string[]) => parseLeaseEvent(args, env)!;

describe("a lease event's parsing", () => {
  it("takes add, old and del with a MAC (any case) and an IPv4 address", () => {
    expect(parseLeaseEvent(["add", A.toUpperCase(), "192.0.2.100", "guest"], env)).toEqual({
      action: "add",
      mac: A,
      ip: "192.0.2.100",
      del: false,
    });
    expect(parseLeaseEvent(["del", A, "192.0.2.100"], env)?.del).toBe(true);
  });
  it("leaves DHCPv6 events and events without a MAC or an IPv4 address alone", () => {
    expect(parseLeaseEvent(["add", "00:01:00:01", "2001:db8::5"], { ...env, DNSMASQ_IAID: "1" })).toBeNull();
    expect(parseLeaseEvent(["add", A, "2001:db8::5"], env)).toBeNull();
    expect(parseLeaseEvent(["add", "not-a-mac", "192.0.2.100"], env)).toBeNull();
    expect(parseLeaseEvent(["add", A], env)).toBeNull();
  });
});

describe("a lease event's steps", () => {
  it("a new lease: the pair into the set, then the record with the pair added", () => {
    const steps = leaseEventSteps(ev(["add", B, "192.0.2.101"]), record([{ mac: A, ip: "192.0.2.100" }]));
    expect(steps).toEqual([
      { kind: "nft", script: guardIpScript(B, "192.0.2.101", false) },
      { kind: "write", path: "/run/k/n.guard-leases", content: `${A} 192.0.2.100\n${B} 192.0.2.101\n` },
    ]);
  });
  it("a renewal of a recorded lease: the pair again (the set may have been flushed), the record not rewritten", () => {
    const steps = leaseEventSteps(ev(["old", A, "192.0.2.100"]), record([{ mac: A, ip: "192.0.2.100" }]));
    expect(steps).toEqual([{ kind: "nft", script: guardIpScript(A, "192.0.2.100", false) }]);
  });
  it("a release: the pair out of the set and out of the record", () => {
    const steps = leaseEventSteps(
      ev(["del", A, "192.0.2.100"]),
      record([
        { mac: A, ip: "192.0.2.100" },
        { mac: B, ip: "192.0.2.101" },
      ]),
    );
    expect(steps).toEqual([
      { kind: "nft", script: guardIpScript(A, "192.0.2.100", true) },
      { kind: "write", path: "/run/k/n.guard-leases", content: `${B} 192.0.2.101\n` },
    ]);
    expect(guardIpScript(A, "192.0.2.100", true)).toContain(
      `delete element bridge kvmnet guard_ips { ${A} . 192.0.2.100 }`,
    );
  });
  it("a release of a pair not recorded leaves the record alone; a duplicate line is written away", () => {
    expect(leaseEventSteps(ev(["del", A, "192.0.2.100"]), record([])).map((s) => s.kind)).toEqual(["nft"]);
    const dup = record([
      { mac: A, ip: "192.0.2.100" },
      { mac: A, ip: "192.0.2.100" },
    ]);
    expect(leaseEventSteps(ev(["old", A, "192.0.2.100"]), dup).at(-1)).toEqual({
      kind: "write",
      path: "/run/k/n.guard-leases",
      content: `${A} 192.0.2.100\n`,
    });
  });
  it("no guarded network on the bridge, or a config that cannot be read: the set only, nothing recorded", () => {
    const none: LeaseRecord = { config, net: null, leases: [] };
    expect(leaseEventSteps(ev(["add", A, "192.0.2.100"]), none).map((s) => s.kind)).toEqual(["nft"]);
    expect(leaseEventSteps(ev(["add", A, "192.0.2.100"]), null).map((s) => s.kind)).toEqual(["nft"]);
  });
});
