// A NAT lab: a "host" namespace that runs kvmnet, an "outside" namespace beyond its uplink, and "guest"
// namespaces whose veth peer in the host plays the VM's tap. Addresses: guests 192.0.2.0/24, uplink 203.0.113.0/24.
import { dhcp, writeUdhcpcScript, type Lease } from "./dhcp.js";
import { hook, Netns, rid, tempConfig, veth } from "./netns.js";

/** The outside host's address, and the host's address on the uplink. */
export const OUTSIDE = "203.0.113.2";
export const HOST_UPLINK = "203.0.113.1";

/** A NAT network section for the lab; EXTRA adds keys. */
export function natSection(bridge: string, extra = ""): string {
  return `[nat0]\nmode = nat\nbridge = ${bridge}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\n${extra}`;
}

/** Make the lab. FIREWALL picks the backend; SECTION renders the network config for the lab's bridge name. */
export async function makeLab(opts: { firewall?: "nftables" | "iptables"; section?: (bridge: string) => string } = {}) {
  const host = await Netns.create("kh");
  const outside = await Netns.create("ko");
  await veth(host, "up0", outside, "eth0");
  await host.sh(`ip addr add ${HOST_UPLINK}/24 dev up0`);
  await outside.sh(`ip addr add ${OUTSIDE}/24 dev eth0`);
  const bridge = `kb${rid(6)}`;
  const conf = tempConfig((opts.section ?? natSection)(bridge), opts.firewall ? `firewall = ${opts.firewall}\n` : "");
  const udhcpcScript = writeUdhcpcScript(conf.dir);
  const guests: Netns[] = [];
  return {
    host,
    outside,
    bridge,
    conf,
    guests,
    /** A guest namespace whose eth0 is wired to TAP in the host (TAP is not on any bridge yet). */
    async addGuest(tap: string, mac?: string): Promise<Netns> {
      const g = await Netns.create("kg");
      await veth(host, tap, g, "eth0");
      if (mac) await g.sh(`ip link set eth0 address ${mac}`);
      guests.push(g);
      return g;
    },
    /** Run a kvmnet program in the host namespace. */
    async hook(program: string, tap: string, env: Record<string, string> = {}) {
      return await hook(host, program, tap, conf.file, env);
    },
    /** DHCP in a guest with busybox udhcpc (and its options EXTRA); returns the lease line's fields or null. */
    async dhcp(g: Netns, extra: string[] = []): Promise<Lease | null> {
      return await dhcp(g, udhcpcScript, extra);
    },
    /** True when a guest gets a ping reply from ADDRESS. */
    async ping(g: Netns, address: string): Promise<boolean> {
      return (await g.tryRun("busybox", ["ping", "-c", "1", "-W", "2", address], { timeout: 10_000 })).exitCode === 0;
    },
    async destroy() {
      conf.cleanup();
      for (const ns of [host, outside, ...guests]) await ns.destroy();
    },
  };
}

/** The lab type. */
export type Lab = Awaited<ReturnType<typeof makeLab>>;

/** Start a TCP server in NS on port 7777 that answers each client with the client's address as it sees it.
 *  Returns a stop function (kills by pid). */
export async function startEchoAddress(ns: Netns): Promise<() => void> {
  const child = ns.spawn("node", [
    "-e",
    "require('net').createServer(s=>s.end(s.remoteAddress.replace('::ffff:','')+'\\n')).listen(7777,()=>console.log('ready'))",
  ]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", () => reject(new Error("echo server exited")));
  });
  return () => {
    child.kill("SIGTERM");
  };
}

/** Ask the echo server at ADDRESS from guest G which address it sees. */
export async function seenAs(g: Netns, address: string): Promise<string> {
  return String((await g.tryRun("busybox", ["nc", "-w", "3", address, "7777"], { timeout: 10_000 })).stdout).trim();
}
