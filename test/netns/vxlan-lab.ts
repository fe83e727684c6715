// A lab of "hosts" across an underlay: each host a network namespace with its underlay interface u0 on one
// bridge (in a namespace of its own, never the test machine's), 203.0.113.N/24. Every host reads the same
// kvmnet.conf; each runs kvmnet under its own host name (a UTS namespace of its own), so [NET@HOST] sections apply.
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Netns, program, rid, tempConfig, veth } from "../helpers/netns.js";

/** A host of the lab. */
export interface Host {
  ns: Netns;
  name: string;
  /** Its underlay address. */
  addr: string;
}

/** Make the underlay and HOSTS hosts (host i gets 203.0.113.i). BODY renders the network sections. */
export async function makeVxlanLab(body: (bridge: string) => string) {
  const underlay = await Netns.create("ku");
  await underlay.sh("ip link add ulbr type bridge && ip link set ulbr up");
  const bridge = `kx${rid(6)}`;
  const conf = tempConfig(body(bridge));
  const hosts: Host[] = [];
  const guests: Netns[] = [];
  const others: Netns[] = [underlay];
  const script = join(conf.dir, "udhcpc-mtu.sh");
  // Applies and prints the lease, with the MTU (option 26) the server sent.
  writeFileSync(
    script,
    `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    [ -n "$router" ] && ip route replace default via "\${router%% *}"
    echo "LEASE ip=$ip router=$router mtu=$mtu" ;;
esac
`,
  );
  chmodSync(script, 0o755);
  const lab = {
    underlay,
    bridge,
    conf,
    hosts,
    guests,
    /** Host N (203.0.113.N) named NAME, its u0 on the underlay bridge. */
    async addHost(n: number, name: string): Promise<Host> {
      const ns = await Netns.create("kx");
      const port = `p${n}${rid(4)}`;
      await veth(underlay, port, ns, "u0");
      await underlay.sh(`ip link set ${port} master ulbr`);
      await ns.sh(`ip addr add 203.0.113.${n}/24 dev u0`);
      const h = { ns, name, addr: `203.0.113.${n}` };
      hosts.push(h);
      return h;
    },
    /** A namespace of the test other than a host or guest (removed at the end). */
    async extra(prefix: string): Promise<Netns> {
      const ns = await Netns.create(prefix);
      others.push(ns);
      return ns;
    },
    /** A guest on host H: its eth0 wired to TAP in the host. */
    async addGuest(h: Host, tap: string): Promise<Netns> {
      const g = await Netns.create("kxg");
      await veth(h.ns, tap, g, "eth0");
      guests.push(g);
      return g;
    },
    /** Run kvmnet PROGRAM (a hook or `kvmnet`) with ARGS on host H, as that host (its own host name). */
    async run(h: Host, name: string, args: string[], env: Record<string, string> = {}) {
      const r = await h.ns.tryRun(
        "unshare",
        ["-u", "sh", "-c", `hostname ${h.name} && exec "$0" "$@"`, program(name), ...args],
        { env: { KVMNET_CONFIG: conf.file, ...env }, timeout: 60_000 },
      );
      return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    /** DHCP in guest G; the lease with the MTU, or null. */
    async dhcp(g: Netns): Promise<{ ip: string; router: string; mtu: string } | null> {
      const r = await g.tryRun(
        "busybox",
        ["udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "6", "-T", "1", "-O", "mtu", "-s", script],
        { timeout: 30_000 },
      );
      const m = /LEASE ip=(\S+) router=(\S*) mtu=(\S*)/.exec(String(r.stdout));
      return m ? { ip: m[1]!, router: m[2]!, mtu: m[3]! } : null;
    },
    /** True when G gets a ping reply from ADDRESS. */
    async ping(g: Netns, address: string): Promise<boolean> {
      return (await g.tryRun("busybox", ["ping", "-c", "1", "-W", "2", address], { timeout: 10_000 })).exitCode === 0;
    },
    /** Rewrite the config with BODY. */
    /** As run(), without blocking this process (a stream timed meanwhile keeps its timestamps honest). */
    async runAsync(h: Host, name: string, args: string[], env: Record<string, string> = {}) {
      const r = await h.ns.spawn(
        "unshare",
        ["-u", "sh", "-c", `hostname ${h.name} && exec "$0" "$@"`, program(name), ...args],
        { env: { KVMNET_CONFIG: conf.file, ...env } },
      );
      return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    rewrite(text: string) {
      writeFileSync(conf.file, `[global]\nstate_dir = ${conf.stateDir}\nlease_dir = ${conf.leaseDir}\n\n${text}`);
    },
    async destroy() {
      conf.cleanup();
      for (const ns of [...guests, ...hosts.map((h) => h.ns), ...others]) await ns.destroy();
    },
  };
  return lab;
}

/** The lab type. */
export type VxlanLab = Awaited<ReturnType<typeof makeVxlanLab>>;
