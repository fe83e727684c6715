// Test fixture: a network namespace of our own holding a bridge (fixed MAC, an address from a
// documentation range), tap up/down scripts that enslave QEMU's tap to it, and optionally a dnsmasq
// (started with --conf-file=/dev/null, killed by pid). Only for tests of test/vm itself and similar.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// What makeBridgeNetns created.
export interface BridgeNetns {
  ns: string;
  bridge: string;
  gateway: string;
  prefix: number;
  dir: string;
  ifup: string;
  ifdown: string;
  dnsmasq?: ChildProcess | undefined;
  dnsmasqLog(): string;
  exec(args: string[]): string;
  cleanup(): Promise<void>;
}

// Options: the bridge address (CIDR), an optional DHCP range "first,last", DNS host records, and
// whether dnsmasq pings an address before offering it (its default; costs ~3 s per new lease).
export interface BridgeNetnsOptions {
  address?: string | undefined;
  dhcpRange?: string | undefined;
  hostRecords?: Record<string, string> | undefined;
  pingCheck?: boolean | undefined;
}

const sh = (args: string[]) => execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

// Creates namespace kvmvm-<random> with bridge br0; call cleanup() (also when a test fails).
export async function makeBridgeNetns(o: BridgeNetnsOptions = {}): Promise<BridgeNetns> {
  const ns = `kvmvm-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const bridge = "br0";
  const address = o.address ?? "192.0.2.1/24";
  const [gateway, prefixText] = address.split("/") as [string, string];
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-vm-"));
  let dnsmasq: ChildProcess | undefined;
  let log = "";
  const exec = (args: string[]) => sh(["netns", "exec", ns, ...args]);
  const cleanup = async () => {
    if (dnsmasq?.pid !== undefined && dnsmasq.exitCode === null && dnsmasq.signalCode === null) {
      const gone = new Promise((r) => dnsmasq!.once("close", r));
      process.kill(dnsmasq.pid, "SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
    }
    try {
      sh(["netns", "del", ns]);
    } catch {
      /* never created */
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    sh(["netns", "add", ns]);
    exec(["ip", "link", "set", "lo", "up"]);
    exec(["ip", "link", "add", bridge, "address", "02:00:c0:00:02:01", "type", "bridge", "stp_state", "0"]);
    exec(["ip", "addr", "add", address, "dev", bridge]);
    exec(["ip", "link", "set", bridge, "up"]);
    const ifup = join(dir, "ifup");
    const ifdown = join(dir, "ifdown");
    // QEMU runs these with the tap name as $1; the env shows that QEMU's environment reaches them.
    writeFileSync(
      ifup,
      `#!/bin/bash\nset -e\necho "up $1 \${KVMNET_CONFIG:-}" >> ${dir}/hook.log\nip link set "$1" master ${bridge}\nip link set "$1" up\n`,
    );
    writeFileSync(
      ifdown,
      `#!/bin/bash\necho "down $1" >> ${dir}/hook.log\nip link set "$1" nomaster 2>/dev/null\nexit 0\n`,
    );
    chmodSync(ifup, 0o755);
    chmodSync(ifdown, 0o755);
    if (o.dhcpRange) {
      const args = [
        "netns",
        "exec",
        ns,
        "dnsmasq",
        "--conf-file=/dev/null",
        "--keep-in-foreground",
        "--log-facility=-",
        "--log-dhcp",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        `--interface=${bridge}`,
        "--except-interface=lo",
        `--listen-address=${gateway}`,
        `--pid-file=${dir}/dnsmasq.pid`,
        `--dhcp-leasefile=${dir}/leases`,
        `--dhcp-range=${o.dhcpRange},1h`,
        `--dhcp-option=option:router,${gateway}`,
        `--dhcp-option=option:dns-server,${gateway}`,
        "--dhcp-authoritative",
        "--domain=kvmnet.test",
        "--user=root",
        ...(o.pingCheck ? [] : ["--no-ping"]),
        ...Object.entries(o.hostRecords ?? {}).map(([n, a]) => `--host-record=${n},${a}`),
      ];
      dnsmasq = spawn("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
      const d = dnsmasq;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`dnsmasq did not start:\n${log}`)), 10_000);
        const onData = (c: Buffer) => {
          log += c.toString();
          if (/DHCP, IP range/.test(log)) {
            clearTimeout(t);
            resolve();
          }
        };
        d.stdout!.on("data", onData);
        d.stderr!.on("data", onData);
        d.once("close", (code) => {
          clearTimeout(t);
          reject(new Error(`dnsmasq exited (${code}):\n${log}`));
        });
      });
    }
    return {
      ns,
      bridge,
      gateway,
      prefix: Number(prefixText),
      dir,
      ifup,
      ifdown,
      dnsmasq,
      dnsmasqLog: () => log,
      exec,
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
