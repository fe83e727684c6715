// A DHCP server on the "physical" segment for bridge-mode cases: dnsmasq in the lab's outside namespace
// (its own, not kvmnet's: --conf-file=/dev/null, no ping check), stopped by its pid.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Netns } from "../helpers/netns.js";

/** A running segment DHCP server. */
export interface SegmentDhcp {
  leases(): string;
  stop(): Promise<void>;
}

/** Start dnsmasq in NS on IFACE (address SERVER) handing out RANGE ("first,last") with SERVER as router. */
export async function startSegmentDhcp(ns: Netns, iface: string, server: string, range: string): Promise<SegmentDhcp> {
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-e2e-dhcp-"));
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      ns.name,
      "dnsmasq",
      "--conf-file=/dev/null",
      "--keep-in-foreground",
      "--log-facility=-",
      "--no-resolv",
      "--no-hosts",
      "--bind-interfaces",
      `--interface=${iface}`,
      "--except-interface=lo",
      "--port=0",
      `--dhcp-range=${range},1h`,
      `--dhcp-option=option:router,${server}`,
      "--dhcp-authoritative",
      "--no-ping",
      `--dhcp-leasefile=${dir}/leases`,
      `--pid-file=${dir}/pid`,
      "--user=root",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`segment dnsmasq did not start:\n${log}`)), 10_000);
    const onData = (c: Buffer) => {
      log += c.toString();
      if (/DHCP, IP range/.test(log)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("close", (code) => {
      clearTimeout(t);
      reject(new Error(`segment dnsmasq exited (${code}):\n${log}`));
    });
  });
  return {
    leases: () => {
      try {
        return readFileSync(`${dir}/leases`, "utf8");
      } catch {
        return "";
      }
    },
    stop: async () => {
      // `ip netns exec` execs dnsmasq in place: the child's pid is dnsmasq's.
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once("close", r));
        process.kill(child.pid!, "SIGTERM");
        await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
