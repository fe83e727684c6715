// kvmnet status, up, down, check and plan, run as admins run them, in namespaces of our own: a real bridge,
// nft/iptables, dnsmasq, and a guest namespace that gets a real lease with busybox udhcpc.
import { existsSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hook, Netns, program, rid, tempConfig, veth } from "../helpers/netns.js";

type Conf = ReturnType<typeof tempConfig>;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function host(): Promise<Netns> {
  const ns = await Netns.create("kcli");
  cleanups.push(async () => await ns.destroy());
  return ns;
}
function conf(body: string, global = ""): Conf {
  const c = tempConfig(body, global);
  cleanups.push(c.cleanup);
  return c;
}
/** Run `kvmnet ARGS` inside NS with config FILE. */
async function kvmnet(
  ns: Netns,
  file: string,
  args: string[],
  env: Record<string, string> = {},
  bin = program("kvmnet"),
) {
  const r = await ns.tryRun(process.execPath, [bin, ...args], {
    env: { KVMNET_CONFIG: file, ...env },
    timeout: 60_000,
  });
  // execa strips the last newline; put it back so that outputs compare as printed.
  const nl = (s: unknown) => (String(s) ? `${String(s)}\n` : "");
  return { code: r.exitCode, out: nl(r.stdout), err: nl(r.stderr) };
}
const natSection = (br: string, extra = "") =>
  `[lab]\nmode = nat\nbridge = ${br}\naddress = 203.0.113.1/24\ndhcp_range = 203.0.113.100,203.0.113.150\n${extra}`;
/** True when PID runs (a zombie left for a reaper that never comes counts as gone). */
const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
/** What `up` may change, as text: links, addresses, rules, dnsmasq files. */
const snapshot = async (ns: Netns, c: Conf) =>
  await ns.sh(
    `ip -br link; ip -br addr; nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'; iptables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]/[]/'; cat /proc/sys/net/ipv4/ip_forward; ls ${c.dir}/run 2>/dev/null || true`,
  );

describe("kvmnet check", () => {
  it("lists every problem with FILE:LINE: KEY, exit 2; a good file exits 0", async () => {
    const ns = await host();
    const bad = conf(
      "[a]\nmode = nat\nbridge = br-with-a-long-name\naddress = 203.0.113.0/24\n[b]\nmode = isolatd\nbridge = kvb\nadress = 1\n",
    );
    const r = await kvmnet(ns, bad.file, ["check"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    const lines = r.err.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^kvmnet: ${bad.file}:7: bridge: "br-with-a-long-name" is 19 characters`)),
      expect.stringMatching(
        new RegExp(`^kvmnet: ${bad.file}:8: address: 203.0.113.0 is the network or broadcast address`),
      ),
      expect.stringMatching(new RegExp(`^kvmnet: ${bad.file}:10: mode: "isolatd" is not a mode`)),
      expect.stringMatching(new RegExp(`^kvmnet: ${bad.file}:12: adress: unknown key; did you mean address\\?`)),
      `kvmnet: configuration file ${bad.file} test failed: 4 problems`,
    ]);
    const json = JSON.parse((await kvmnet(ns, bad.file, ["check", "--json"])).out);
    expect(json).toMatchObject({ file: bad.file, ok: false, networks: [] });
    expect(json.problems).toHaveLength(4);

    const good = conf(natSection(`kvb${rid()}`));
    const ok = await kvmnet(ns, good.file, ["check"]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/syntax is ok: lab \(nat, kvb\w+\)\nkvmnet: configuration file .* test is successful\n$/);
    // A file named on the command line is checked instead of $KVMNET_CONFIG.
    expect((await kvmnet(ns, good.file, ["check", bad.file])).code).toBe(2);
  });

  it("reports a subnet the host already routes elsewhere (exit 2), as the hooks would refuse it", async () => {
    const ns = await host();
    await ns.sh(
      "ip link add kcup0 type veth peer name kcup1 && ip addr add 203.0.113.7/25 dev kcup0 && ip link set kcup0 up",
    );
    const c = conf(natSection(`kvb${rid()}`));
    const r = await kvmnet(ns, c.file, ["check"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `${c.file}:8: address: subnet 203.0.113.0/24 collides with the host's route 203.0.113.0/25 dev kcup0`,
    );
  });
});

describe("kvmnet plan, up, status, down", () => {
  it("plan changes nothing and shows what up then does; up is idempotent; status shows a real lease; down keeps it", async () => {
    const ns = await host();
    const guest = await Netns.create("kclg");
    cleanups.push(async () => await guest.destroy());
    const br = `kvb${rid()}`;
    const tap = `vt${rid()}`;
    const c = conf(natSection(br));

    const before = await snapshot(ns, c);
    const plan = await kvmnet(ns, c.file, ["plan", "lab"]);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toContain(`link add name ${br} address 02:6b:76:`);
    expect(plan.out).toContain("echo 1 > /proc/sys/net/ipv4/ip_forward");
    expect(plan.out).toContain(
      "# firewall: nftables, table inet kvmnet (lab's chains and map elements; other networks have their own)\ntable inet kvmnet {",
    );
    expect(plan.out).toContain(`dnsmasq --conf-file=${c.stateDir}/lab.dnsmasq.conf`);
    expect(plan.out).toContain(`# dnsmasq config: ${c.stateDir}/lab.dnsmasq.conf\n# dnsmasq for kvmnet network lab`);
    expect(await snapshot(ns, c)).toBe(before);
    const planJson = JSON.parse((await kvmnet(ns, c.file, ["plan", "lab", "--json"])).out);
    expect(planJson.steps.map((s: { kind: string }) => s.kind)).toEqual([
      "ip",
      "sysctl",
      "sysctl",
      "sysctl",
      "nft",
      "mkdir",
      "mkdir",
      "write",
      "write",
      "write",
      "dnsmasq-start",
    ]);
    expect(planJson.firewall.rules).toMatch(/^table inet kvmnet \{/);

    const up = await kvmnet(ns, c.file, ["up", "lab"]);
    expect(up.code, up.err).toBe(0);
    expect(up.out).toBe("lab: up (11 steps)\n");
    const afterUp = await snapshot(ns, c);
    const again = await kvmnet(ns, c.file, ["up", "lab"]);
    expect(again.out).toBe("lab: already up as configured\n");
    expect(await snapshot(ns, c)).toBe(afterUp);
    expect((await kvmnet(ns, c.file, ["plan", "lab"])).out).toContain("# nothing to do: lab is up as configured");

    // A guest on a tap (one end of a veth) gets a real lease from kvmnet's dnsmasq.
    await veth(ns, tap, guest, "eth0");
    expect((await hook(ns, "qemu-natup", tap, c.file)).code).toBe(0);
    const guestMac = await guest.sh("cat /sys/class/net/eth0/address");
    const dhcp = await guest.tryRun(
      "busybox",
      ["udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-s", "/bin/true", "-x", "hostname:guest1"],
      { timeout: 30_000 },
    );
    const ip = /lease of (203\.0\.113\.\d+) obtained/.exec(String(dhcp.stderr) + String(dhcp.stdout))?.[1];
    expect(ip, String(dhcp.stderr)).toMatch(/^203\.0\.113\.1[0-5]\d$/);

    const tapMac = await ns.sh(`cat /sys/class/net/${tap}/address`);
    const status = await kvmnet(ns, c.file, ["status"]);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toContain("lab  nat  up, as configured\n");
    expect(status.out).toMatch(new RegExp(`  ${br}  02:6b:76:[0-9a-f:]+  203\\.0\\.113\\.1/24  mtu 1500\n`));
    expect(status.out).toContain(`  ├── ${tap}  ${tapMac}  up\n  └── ⇢ any interface  (NAT)\n`);
    expect(status.out).toContain(
      "  firewall  nftables table inet kvmnet, chains input-lab, from-lab, to-lab, nat-lab: in place\n",
    );
    expect(status.out).toMatch(/  dhcp      dnsmasq pid \d+: running, range 203\.0\.113\.100-203\.0\.113\.150\n/);
    expect(status.out).toContain(`  leases    ${guestMac}  ${ip!.padEnd(15)}  guest1\n`);
    expect(status.out).not.toMatch(/\x1b\[/); // not a terminal: no colour

    const json = JSON.parse((await kvmnet(ns, c.file, ["status", "--json"])).out);
    const net = json.networks[0];
    expect(net).toMatchObject({
      name: "lab",
      mode: "nat",
      bridge: br,
      up: true,
      ports: [tap],
      pending: 0,
      createdByKvmnet: true,
    });
    expect(net.leases).toEqual([{ mac: guestMac, ip, hostname: "guest1", expires: expect.stringMatching(/^20\d\d-/) }]);
    expect(net.portDetails).toEqual([{ name: tap, mac: tapMac, mtu: 1500, up: true, role: "vm" }]);
    expect(net.firewall.state).toBe("in-place");
    expect(net.dnsmasq).toMatchObject({ state: "running", pid: expect.any(Number) });
    expect(readFileSync(`/proc/${net.dnsmasq.pid}/cmdline`, "utf8")).toContain(
      `--conf-file=${c.stateDir}/lab.dnsmasq.conf`,
    );

    // down refuses while a VM is attached, and changes nothing.
    const withVm = await snapshot(ns, c);
    const busy = await kvmnet(ns, c.file, ["down", "lab"]);
    expect(busy.code).toBe(2);
    expect(busy.err).toContain(`kvmnet: down: network lab still has VM ports on ${br}: ${tap}`);
    expect(await snapshot(ns, c)).toBe(withVm);
    expect(await ns.sh(`ls /sys/class/net/${br}/brif`)).toBe(tap);

    // Someone deletes the rules by hand: status says so and plan shows the repair.
    await ns.sh("nft delete table inet kvmnet");
    expect((await kvmnet(ns, c.file, ["status", "lab"])).out).toMatch(
      /up, 1 change pending  \(kvmnet plan lab\)[\s\S]*firewall  nftables table inet kvmnet, chains input-lab, from-lab, to-lab, nat-lab: missing/,
    );
    expect((await kvmnet(ns, c.file, ["up", "lab"])).out).toBe("lab: up (1 step)\n");

    // --force takes it down with the VM attached; the lease file stays.
    const down = await kvmnet(ns, c.file, ["down", "lab", "--force"]);
    expect(down.code, down.err).toBe(0);
    expect(down.out).toMatch(/^lab: down \(\d+ steps\); leases kept\n$/);
    expect((await ns.tryRun("ip", ["link", "show", br])).exitCode).not.toBe(0);
    expect(await ns.sh("nft list ruleset")).not.toContain("kvmnet");
    expect(alive(net.dnsmasq.pid)).toBe(false);
    expect(readFileSync(join(c.leaseDir, "lab.leases"), "utf8")).toContain(`${guestMac} ${ip} guest1`);
    expect((await kvmnet(ns, c.file, ["down", "lab"])).out).toBe("lab: already down\n");
    const st = await kvmnet(ns, c.file, ["status"]);
    expect(st.out).toBe(`lab  nat  down  (kvmnet up lab)\n  ${br}  (no such bridge)\n`);
    // Back up: dnsmasq reads the kept lease file and status shows the lease again.
    expect((await kvmnet(ns, c.file, ["up", "--all"])).code).toBe(0);
    expect(JSON.parse((await kvmnet(ns, c.file, ["status", "--json", "lab"])).out).networks[0].leases[0]).toMatchObject(
      {
        mac: guestMac,
        ip,
      },
    );
    expect((await kvmnet(ns, c.file, ["down", "--all"])).code).toBe(0);
  });

  it("up --autostart brings up only autostart networks; kvmnet@NET names the network", async () => {
    const ns = await host();
    const [a, b] = [`kva${rid()}`, `kvb${rid()}`];
    const c = conf(
      `[a]\nmode = isolated\nbridge = ${a}\nautostart = yes\n[b]\nmode = host-only\nbridge = ${b}\naddress = 198.51.100.1/24\n`,
    );
    const r = await kvmnet(ns, c.file, ["up", "--autostart"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe("a: up (5 steps)\n");
    expect(await ns.sh("ls /sys/class/net")).toContain(a);
    expect(await ns.sh("ls /sys/class/net")).not.toContain(b);
    const at = join(c.dir, "kvmnet@b");
    symlinkSync(program("kvmnet"), at);
    expect((await kvmnet(ns, c.file, ["up"], {}, at)).out).toBe("b: up (5 steps)\n");
    expect((await kvmnet(ns, c.file, ["status", "--json"], {}, at)).out).toMatch(/"name": "b"/);
    expect(
      JSON.parse((await kvmnet(ns, c.file, ["status", "--json"])).out).networks.map((n: { up: boolean }) => n.up),
    ).toEqual([true, true]);
    // Colour on a terminal (script(1) gives it one), never with NO_COLOR, never into a pipe.
    const onTty = async (env: Record<string, string>) =>
      String(
        (
          await ns.tryRun("script", ["-qec", `${process.execPath} ${program("kvmnet")} status a`, "/dev/null"], {
            env: { KVMNET_CONFIG: c.file, TERM: "xterm", ...env },
          })
        ).stdout,
      );
    expect(await onTty({})).toContain("\x1b[32mup\x1b[0m, as configured");
    expect(await onTty({ NO_COLOR: "1" })).toContain("a  isolated  up, as configured");
    expect(await onTty({ NO_COLOR: "1" })).not.toContain("\x1b[");
    expect((await kvmnet(ns, c.file, ["status"])).out).not.toContain("\x1b[");
    expect((await kvmnet(ns, c.file, ["up"])).err).toMatch(/up: name a network, or --all or --autostart/);
    expect((await kvmnet(ns, c.file, ["up", "zz"])).err).toBe(`kvmnet: no network "zz" in ${c.file} (it has: a, b)\n`);
    // Each network's down also tries to delete kvmnet's shared nft table (the kernel refuses while one is left).
    expect((await kvmnet(ns, c.file, ["down", "--all"])).out).toBe(
      "a: down (3 steps); leases kept\nb: down (3 steps); leases kept\n",
    );
    expect(await ns.sh("ls /sys/class/net")).not.toMatch(new RegExp(`${a}|${b}`));
  });

  it("a bridge network over an uplink: plan shows the NIC moving onto the bridge, up builds it, status draws it", async () => {
    const ns = await host();
    const br = `kvb${rid()}`;
    await ns.sh(
      "ip link add kcup0 type veth peer name kcup1 && ip addr add 198.51.100.5/24 dev kcup0 && ip link set kcup0 up && ip link set kcup1 up",
    );
    const nicMac = await ns.sh("cat /sys/class/net/kcup0/address");
    const c = conf(`[lan]\nmode = bridge\nbridge = ${br}\nuplink = kcup0\n`);
    const before = await snapshot(ns, c);
    const plan = await kvmnet(ns, c.file, ["plan", "lan"]);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toContain(`link add name ${br} address ${nicMac} mtu 1500 type bridge`);
    expect(plan.out).toContain("link set dev kcup0 master " + br);
    expect(plan.out).toContain(`address add 198.51.100.5/24`);
    expect(plan.out).toContain("# firewall: mode bridge needs no rules");
    expect(await snapshot(ns, c)).toBe(before);
    // Status counts the move still to be made (it said "pending 0" when the move was a pipeline of its own).
    const pending = JSON.parse((await kvmnet(ns, c.file, ["status", "--json"])).out).networks[0];
    expect(pending).toMatchObject({ exists: false, pending: 1 });
    const up = await kvmnet(ns, c.file, ["up", "lan"]);
    expect(up.code, up.err).toBe(0);
    expect(up.out).toBe("lan: up (1 step)\n");
    expect((await kvmnet(ns, c.file, ["up", "lan"])).out).toBe("lan: already up as configured\n");
    const st = await kvmnet(ns, c.file, ["status", "lan"]);
    expect(st.out).toBe(
      [
        "lan  bridge  up, as configured",
        `  ${br}  ${nicMac}  198.51.100.5/24  mtu 1500`,
        `  ├── kcup0  ${nicMac}  up  (uplink)`,
        "  └── (no VM attached)",
        "",
      ].join("\n"),
    );
    const json = JSON.parse((await kvmnet(ns, c.file, ["status", "--json"])).out).networks[0];
    expect(json).toMatchObject({ ports: ["kcup0"], createdByKvmnet: true, firewall: null, dnsmasq: null, leases: [] });
  });

  it("up refuses a colliding subnet before changing anything (exit 2)", async () => {
    const ns = await host();
    await ns.sh(
      "ip link add kcup0 type veth peer name kcup1 && ip addr add 203.0.113.200/24 dev kcup0 && ip link set kcup0 up",
    );
    const c = conf(natSection(`kvb${rid()}`));
    const before = await snapshot(ns, c);
    const r = await kvmnet(ns, c.file, ["up", "lab"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/address: subnet 203\.0\.113\.0\/24 collides with the host's route/);
    expect(await snapshot(ns, c)).toBe(before);
  });

  it("with firewall = iptables, plan shows the chains and status sees them", async () => {
    const ns = await host();
    const br = `kvb${rid()}`;
    const c = conf(natSection(br), "firewall = iptables");
    const plan = await kvmnet(ns, c.file, ["plan", "lab"]);
    expect(plan.out).toContain(
      "# firewall: iptables chains (iptables-restore --noflush)\n*filter\n:KVMNET-INP-lab - [0:0]",
    );
    expect(plan.out).toContain("-I FORWARD 1 -j KVMNET-FORWARD\n");
    expect((await kvmnet(ns, c.file, ["up", "lab"])).code).toBe(0);
    expect((await kvmnet(ns, c.file, ["status"])).out).toContain(
      "firewall  iptables chains KVMNET-INP-lab, KVMNET-FWO-lab, KVMNET-FWI-lab, KVMNET-PRT-lab: in place",
    );
    expect((await kvmnet(ns, c.file, ["down", "lab"])).code).toBe(0);
    expect(await ns.sh("iptables-save")).not.toContain("KVMNET");
  });
});
