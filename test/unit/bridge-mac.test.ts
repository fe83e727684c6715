// The fixed MAC of a bridge kvmnet creates (src/core/names.ts bridgeMac): a pure function of the network and, on a
// member host of a network across hosts, of the host's name as observed (passed in, never read by the core).
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { bridgeMac } from "../../src/core/names.js";
import { bridgeLines } from "../../src/decide/bridge.js";

const nets = parseConfig(
  "/etc/kvmnet.conf",
  "[m]\nmode = nat\nbridge = kvm\naddress = 192.0.2.1/24\n" +
    "role = member\nvxlan_id = 7\nvxlan_dev = eth1\nvxlan_peers = 198.51.100.9\n" +
    "[n]\nmode = nat\nbridge = kvn\naddress = 198.51.100.1/24\n",
).networks;
const member = nets.find((n) => n.name === "m")!;
const plain = nets.find((n) => n.name === "n")!;

describe("a bridge's fixed MAC", () => {
  it("is locally administered and the same for the same network", () => {
    expect(bridgeMac(plain, "h1")).toMatch(/^02:6b:76(:[0-9a-f]{2}){3}$/);
    expect(bridgeMac(plain, "h1")).toBe(bridgeMac(plain, "h2"));
  });
  it("on a member host, follows the host name it is given, not the name of the host running the test", () => {
    expect(bridgeMac(member, "h1")).not.toBe(bridgeMac(member, "h2"));
    expect(bridgeMac(member, "h1")).toBe(bridgeMac(member, "h1"));
    const other = `not-${hostname()}`;
    expect(bridgeMac(member, other)).not.toBe(bridgeMac(member, hostname()));
    expect(bridgeLines(member, null, [], "h1")[0]).toContain(`address ${bridgeMac(member, "h1")} `);
  });
});
