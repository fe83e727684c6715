// The lab of the model tests: a "host" namespace that runs kvmnet, an "outside" namespace beyond its uplink
// (up0, 203.0.113.0/24), optionally a "side" namespace on another host interface (side0, 198.51.100.0/24),
// and "guest" namespaces whose veth peer in the host plays the VM's tap. Guests live in 192.0.2.0/24.
import { expect } from "vitest";
import { dhcp, writeUdhcpcScript, type Lease } from "../helpers/dhcp.js";
import { hook, Netns, rid, tempConfig, veth } from "../helpers/netns.js";

/** Addresses of the lab. */
export const HOST_UP = "203.0.113.1";
export const OUTSIDE = "203.0.113.2";
export const HOST_SIDE = "198.51.100.1";
export const SIDE = "198.51.100.2";

/** Make the lab; BODY renders the config sections given a fresh bridge name. */
export async function makeLab(opts: {
  body: (bridge: string) => string;
  firewall?: "nftables" | "iptables";
  side?: boolean;
  uplinkAddr?: boolean;
}) {
  const host = await Netns.create("kh");
  const outside = await Netns.create("ko");
  await veth(host, "up0", outside, "eth0");
  if (opts.uplinkAddr !== false) await host.sh(`ip addr add ${HOST_UP}/24 dev up0`);
  await outside.sh(`ip addr add ${OUTSIDE}/24 dev eth0`);
  let side: Netns | null = null;
  if (opts.side) {
    side = await Netns.create("ks");
    await veth(host, "side0", side, "eth0");
    await host.sh(`ip addr add ${HOST_SIDE}/24 dev side0`);
    await side.sh(`ip addr add ${SIDE}/24 dev eth0`);
  }
  const bridge = `kb${rid(6)}`;
  const conf = tempConfig(opts.body(bridge), opts.firewall ? `firewall = ${opts.firewall}\n` : "");
  const udhcpc = writeUdhcpcScript(conf.dir);
  const guests: Netns[] = [];
  return {
    host,
    outside,
    side,
    bridge,
    conf,
    guests,
    /** A guest whose eth0 is wired to TAP in the host; ADDR (CIDR) is set on eth0 when given. */
    async addGuest(tap: string, addr?: string): Promise<Netns> {
      const g = await Netns.create("kg");
      await veth(host, tap, g, "eth0");
      if (addr) await g.sh(`ip addr add ${addr} dev eth0`);
      guests.push(g);
      return g;
    },
    /** Run a kvmnet program in the host. */
    async hook(program: string, tap: string, env: Record<string, string> = {}) {
      return await hook(host, program, tap, conf.file, env);
    },
    /** DHCP in a guest with busybox udhcpc: the lease's fields, or null. */
    async dhcp(g: Netns): Promise<Lease | null> {
      return await dhcp(g, udhcpc);
    },
    async destroy() {
      conf.cleanup();
      for (const ns of [host, outside, ...(side ? [side] : []), ...guests]) await ns.destroy();
    },
  };
}

/** The lab type. */
export type Lab = Awaited<ReturnType<typeof makeLab>>;

/** True when NS gets an echo reply from ADDRESS (one ping, 1 s). */
export async function pings(ns: Netns, address: string, from?: string): Promise<boolean> {
  return (
    (
      await ns.tryRun("busybox", ["ping", "-c", "1", "-W", "1", ...(from ? ["-I", from] : []), address], {
        timeout: 10_000,
      })
    ).exitCode === 0
  );
}

/** Everything kvmnet may change in NS, as text (for "the second run changes nothing"). Without RULES, only
 *  kvmnet's own firewall objects are shown (iptables-nft leaves empty built-in chains behind once used). */
export async function nsState(ns: Netns, stateDir?: string, rules = true): Promise<string> {
  return [
    await ns.sh(
      "ip -d link show | sed -E 's/ (numtxqueues|numrxqueues|gso_max|gro_max|tso_max|gso_ipv4|gro_ipv4)[^ ]* [0-9]+//g; s/ [a-z_]+_timer +[0-9.]+//g'",
    ),
    // IPv6 link-local addresses of veths finish DAD at their own pace: not kvmnet's doing.
    await ns.sh("ip addr show | grep -v valid_lft | sed 's/ tentative//'"),
    await ns.sh("ip route show table all | grep -v '^local fe80' || true"),
    await ns.sh("cat /proc/sys/net/ipv4/ip_forward"),
    rules
      ? await ns.sh("nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'")
      : await ns.sh("nft list tables | grep kvmnet || true"),
    await ns.sh(
      `iptables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]//' ${rules ? "" : "| grep KVMNET "}|| true`,
    ),
    stateDir ? await ns.sh(`ls -la --time-style=+ ${stateDir} 2>/dev/null || true`) : "",
  ].join("\n----\n");
}

/** Remove kvmnet's rules for network NAME by hand (a control: shows that they, not something else, block). */
export async function dropRules(ns: Netns, firewall: "nftables" | "iptables", name: string): Promise<void> {
  // Flushing the network's own chains leaves packets dispatched to them with nothing to match.
  if (firewall === "nftables")
    await ns.sh(`for c in input from to nat; do nft flush chain inet kvmnet $c-${name} 2>/dev/null; done; true`);
  else await ns.sh(`for c in INP FWI FWO; do iptables -F KVMNET-$c-${name} 2>/dev/null; done; true`);
}

/** The echo server of the outside, shared with the NAT lab. */
export { seenAs, startEchoAddress } from "../helpers/lab.js";

/** Run PROGRAM TAP twice in the lab's host: the first run logs a change matching FIRST, the second logs
 *  nothing and leaves the namespace byte-identical. */
export async function expectTwiceNoChange(
  lab: {
    host: Netns;
    conf: { stateDir: string };
    hook: (p: string, t: string, e?: Record<string, string>) => Promise<{ code: number | undefined; stderr: string }>;
  },
  program: string,
  tap: string,
  first: RegExp,
): Promise<void> {
  const one = await lab.hook(program, tap, { KVMNET_VERBOSE: "1" });
  expect(one.code, one.stderr).toBe(0);
  expect(one.stderr).toMatch(first);
  const before = await nsState(lab.host, lab.conf.stateDir);
  const two = await lab.hook(program, tap, { KVMNET_VERBOSE: "1" });
  expect(two.code, two.stderr).toBe(0);
  expect(two.stderr).toBe("");
  expect(await nsState(lab.host, lab.conf.stateDir)).toBe(before);
}
