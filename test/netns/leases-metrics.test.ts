// kvmnet leases and kvmnet metrics on a real nat network: guests in their own namespaces get real leases from
// kvmnet's dnsmasq, one of them a static host; leases shows each on its tap; metrics parses (prometheus_client),
// and its counters move with traffic through NAT; --listen serves it over HTTP inside the host namespace.
import { afterEach, describe, expect, it } from "vitest";
import { slaac } from "../helpers/dhcp6.js";
import { makeLab, natSection, HOST_UPLINK, OUTSIDE, type Lab } from "../helpers/lab.js";
import { program, type Netns } from "../helpers/netns.js";
import { parseExposition, sampleValue, type PromFamily } from "../helpers/prom.js";

const WEB = "52:54:00:88:88:88";

/** Run `kvmnet ARGS` in the lab's host namespace. */
async function kvmnet(lab: Lab, args: string[]) {
  const r = await lab.host.tryRun(process.execPath, [program("kvmnet"), ...args], {
    env: { KVMNET_CONFIG: lab.conf.file },
    timeout: 60_000,
  });
  // execa strips the last newline; put it back so that the output parses as printed.
  const nl = (x: unknown) => (String(x) ? `${String(x)}\n` : "");
  return { code: r.exitCode, out: nl(r.stdout), err: nl(r.stderr) };
}

const macOf = async (g: Netns) => (await g.sh("cat /sys/class/net/eth0/address")).trim();

/** A nat lab with guests vm0, vm1 (pool) and vm2 (the static host web), each with a lease. */
async function guestsWithLeases(firewall: "nftables" | "iptables") {
  const lab = await makeLab({ firewall, section: (br) => natSection(br, `host.web = ${WEB},192.0.2.10\n`) });
  const guests = [await lab.addGuest("vm0"), await lab.addGuest("vm1")];
  const web = await lab.addGuest("vm2", WEB);
  for (const tap of ["vm0", "vm1", "vm2"]) expect((await lab.hook("qemu-natup", tap)).code).toBe(0);
  const ips = [];
  for (const g of guests) ips.push((await lab.dhcp(g))?.ip);
  expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
  return { lab, guests, web, ips };
}

describe("kvmnet leases and metrics (nftables)", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("leases: static and dynamic leases, each on its tap, in a table and as JSON", async () => {
    const s = await guestsWithLeases("nftables");
    lab = s.lab;
    // The named counters are printed by nft exactly as rendered: a second hook finds everything in place.
    const again = await lab.hook("qemu-natup", "vm0", { KVMNET_VERBOSE: "1" });
    expect(again.code).toBe(0);
    expect(again.stderr).toBe("");
    const r = await kvmnet(lab, ["leases", "--json"]);
    expect(r.code, r.err).toBe(0);
    const net = JSON.parse(r.out).networks[0];
    expect(net.counts).toEqual({ static: 1, dynamic: 2, dhcpv6: 0, pool: 100 });
    const rows = net.guests.map((g: Record<string, unknown>) => [g.kind, g.name, g.mac, g.ip, g.tap, g.state]);
    expect(rows).toEqual(
      expect.arrayContaining([
        ["static", "web", WEB, "192.0.2.10", "vm2", "active"],
        ["dynamic", null, await macOf(s.guests[0]!), s.ips[0], "vm0", "active"],
        ["dynamic", null, await macOf(s.guests[1]!), s.ips[1], "vm1", "active"],
      ]),
    );
    expect(rows).toHaveLength(3);
    expect(Date.parse(net.guests[1].expires)).toBeGreaterThan(Date.now());
    const table = await kvmnet(lab, ["leases", "nat0"]);
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/^nat0 \(bridge kb\w+\): 1 static, 2 dynamic active, pool 100$/m);
    expect(table.out).toMatch(new RegExp(`^  static +web +${WEB} +192\\.0\\.2\\.10 +vm2 `, "m"));
    expect(table.out).toMatch(
      new RegExp(`^  dynamic +- +${await macOf(s.guests[1]!)} +${s.ips[1]!.replace(/\./g, "\\.")} +vm1 `, "m"),
    );
    // Usage errors: exit 2, nothing printed on stdout.
    expect(await kvmnet(lab, ["leases", "nope"])).toMatchObject({ code: 2, out: "" });
    expect((await kvmnet(lab, ["leases", "nat0", "extra"])).code).toBe(2);
  });

  it("metrics: parses, has every series, counters move with a ping through NAT and a refused connection", async () => {
    const s = await guestsWithLeases("nftables");
    lab = s.lab;
    const scrape = async (): Promise<PromFamily[]> => {
      const r = await kvmnet(lab, ["metrics"]);
      expect(r.code, r.err).toBe(0);
      return await parseExposition(r.out);
    };
    const before = await scrape();
    const net = { network: "nat0" };
    const tap0 = { ...net, interface: "vm0", role: "tap", guest_mac: await macOf(s.guests[0]!) };
    expect(sampleValue(before, "kvmnet_network_up", { ...net, mode: "nat", bridge: lab.bridge })).toBe(1);
    expect(
      sampleValue(before, "kvmnet_interface_transmit_bytes_total", { interface: lab.bridge, role: "bridge" }),
    ).toBeGreaterThan(0);
    expect(sampleValue(before, "kvmnet_interface_receive_packets_total", tap0)).toBeGreaterThan(0);
    expect(
      sampleValue(before, "kvmnet_interface_receive_packets_total", { interface: "vm2", guest_mac: WEB }),
    ).toBeGreaterThan(0);
    expect(sampleValue(before, "kvmnet_dhcp_leases", { ...net, kind: "static" })).toBe(1);
    expect(sampleValue(before, "kvmnet_dhcp_leases", { ...net, kind: "dynamic" })).toBe(2);
    expect(sampleValue(before, "kvmnet_dhcp_pool_size", net)).toBe(100);
    const rule = (f: PromFamily[], r: string) => sampleValue(f, "kvmnet_rule_packets_total", { ...net, rule: r })!;
    for (const r of ["from", "to", "cross", "nat", "reject"]) expect(rule(before, r), r).toBeGreaterThanOrEqual(0);

    expect(await lab.ping(s.guests[0]!, OUTSIDE)).toBe(true);
    // Guest to guest: through the forward hook only with br_netfilter (on by default here, in every namespace).
    expect(await lab.ping(s.guests[0]!, s.ips[1]!)).toBe(true);
    const brNetfilter =
      (await lab.host.sh("cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo 0")) === "1";
    // From the outside, with a route to the guests: a new connection into a nat network is rejected.
    await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UPLINK}`);
    expect(await lab.ping(lab.outside, s.ips[0]!)).toBe(false);
    const after = await scrape();
    expect(rule(after, "from")).toBeGreaterThan(rule(before, "from"));
    expect(rule(after, "to")).toBeGreaterThan(rule(before, "to"));
    expect(rule(after, "nat")).toBeGreaterThan(rule(before, "nat"));
    expect(rule(after, "reject")).toBeGreaterThan(rule(before, "reject"));
    if (brNetfilter) expect(rule(after, "cross")).toBeGreaterThan(rule(before, "cross"));
    else expect(rule(after, "cross")).toBe(rule(before, "cross"));
    const bytes = (f: PromFamily[]) => sampleValue(f, "kvmnet_rule_bytes_total", { ...net, rule: "from" })!;
    expect(bytes(after)).toBeGreaterThanOrEqual(bytes(before) + 84);
    const tx = (f: PromFamily[]) => sampleValue(f, "kvmnet_interface_transmit_packets_total", tap0)!;
    expect(tx(after)).toBeGreaterThan(tx(before));
  });

  it("leases: a guest's SLAAC address, seen in the bridge's neighbour table, is listed with its DHCP lease", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "address6 = fd00:0:0:6::1/64\n") });
    const g = await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const ip = (await lab.dhcp(g))?.ip;
    // udhcpc's script flushed every address of eth0, the link-local one too: down and up makes it again.
    await g.sh("ip link set eth0 down; ip link set eth0 up");
    const addr = await slaac(g, "fd00:0:0:6::/64", false);
    expect(addr).not.toBeNull();
    const seen = async () => JSON.parse((await kvmnet(lab, ["leases", "--json"])).out).networks[0].guests;
    // Not yet talked to: the host has no neighbour entry for it.
    expect((await seen())[0].ipv6.map((a: { ip: string }) => a.ip)).not.toContain(addr);
    expect(
      (await g.tryRun("busybox", ["ping6", "-c", "1", "-W", "2", "fd00:0:0:6::1"], { timeout: 10_000 })).exitCode,
    ).toBe(0);
    const guests = await seen();
    expect(guests, JSON.stringify(guests)).toHaveLength(1);
    expect(guests[0]).toMatchObject({ kind: "dynamic", ip, tap: "vm0", mac: await macOf(g) });
    expect(guests[0].ipv6).toContainEqual({ ip: addr, source: "neighbour" });
  });

  it("before anything is up: metrics says the network is down, leases lists the static host without a lease", async () => {
    lab = await makeLab({ section: (br) => natSection(br, `host.web = ${WEB},192.0.2.10\n`) });
    const m = await kvmnet(lab, ["metrics"]);
    expect(m.code, m.err).toBe(0);
    const fams = await parseExposition(m.out);
    expect(sampleValue(fams, "kvmnet_network_up", { network: "nat0" })).toBe(0);
    expect(sampleValue(fams, "kvmnet_dhcp_leases", { network: "nat0", kind: "static" })).toBe(1);
    expect(sampleValue(fams, "kvmnet_dhcp_leases", { network: "nat0", kind: "dynamic" })).toBe(0);
    expect(fams.map((f) => f.name)).not.toContain("kvmnet_rule_packets");
    expect(fams.map((f) => f.name)).not.toContain("kvmnet_interface_receive_bytes");
    const l = await kvmnet(lab, ["leases"]);
    expect(l.code, l.err).toBe(0);
    expect(l.out).toMatch(new RegExp(`^  static +web +${WEB} +192\\.0\\.2\\.10 +- +no lease yet`, "m"));
  });

  it("metrics --listen serves /metrics on loopback; another address only with --allow-remote", async () => {
    const s = await guestsWithLeases("nftables");
    lab = s.lab;
    const refused = await kvmnet(lab, ["metrics", "--listen", "192.0.2.1:9567"]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/192\.0\.2\.1 is not a loopback address; add --allow-remote/);
    for (const [addr, from] of [
      ["127.0.0.1:9567", lab.host],
      ["192.0.2.1:9568", s.guests[0]!],
    ] as const) {
      const args = ["metrics", "--listen", addr, ...(addr.startsWith("127.") ? [] : ["--allow-remote"])];
      const server = lab.host.spawn(program("kvmnet"), args, { env: { KVMNET_CONFIG: lab.conf.file } });
      let log = "";
      server.stderr!.on("data", (d: Buffer) => (log += d.toString()));
      try {
        await until(() => log.includes("serving metrics"), 10_000);
        expect(log).toContain(`serving metrics at http://${addr}/metrics`);
        // Bound to that address only.
        const other = addr.startsWith("127.") ? `192.0.2.1:9567` : `127.0.0.1:9568`;
        expect(
          (await lab.host.tryRun("busybox", ["wget", "-q", "-O", "-", `http://${other}/metrics`])).exitCode,
        ).not.toBe(0);
        const body =
          String((await from.run("busybox", ["wget", "-q", "-O", "-", `http://${addr}/metrics`])).stdout) + "\n";
        const fams = await parseExposition(body);
        expect(sampleValue(fams, "kvmnet_dhcp_leases", { network: "nat0", kind: "dynamic" })).toBe(2);
        expect(
          sampleValue(fams, "kvmnet_rule_packets_total", { network: "nat0", rule: "from" }),
        ).toBeGreaterThanOrEqual(0);
        const head = await lab.host.sh(`busybox wget -S -q -O /dev/null http://${addr}/metrics 2>&1 || true`);
        if (addr.startsWith("127.")) expect(head).toMatch(/Content-Type: text\/plain; version=0\.0\.4/i);
        expect((await lab.host.tryRun("busybox", ["wget", "-q", "-O", "-", `http://${addr}/`])).exitCode).not.toBe(0);
      } finally {
        server.kill("SIGTERM");
        const r = await server;
        expect(r.exitCode, log).toBe(0);
      }
    }
  });
});

describe("kvmnet metrics (iptables)", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("rule counters come from iptables-save -c and move with a ping through NAT", async () => {
    const s = await guestsWithLeases("iptables");
    lab = s.lab;
    const scrape = async () => await parseExposition((await kvmnet(lab, ["metrics"])).out);
    const rule = (f: PromFamily[], r: string) =>
      sampleValue(f, "kvmnet_rule_packets_total", { network: "nat0", rule: r })!;
    const before = await scrape();
    expect(await lab.ping(s.guests[1]!, OUTSIDE)).toBe(true);
    const after = await scrape();
    for (const r of ["from", "to", "nat"]) expect(rule(after, r), r).toBeGreaterThan(rule(before, r));
    expect(sampleValue(after, "kvmnet_dhcp_leases", { network: "nat0", kind: "static" })).toBe(1);
  });
});

/** Wait until COND holds (polling every 50 ms); the time it took, or -1 after TIMEOUT ms. */
async function until(cond: () => boolean | Promise<boolean>, timeout: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeout) {
    if (await cond()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  return -1;
}
