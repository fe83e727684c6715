// A minimal DHCPv6 client for tests (busybox here has no udhcpc6): one SOLICIT from IFACE's link-local address to
// All_DHCP_Relay_Agents_and_Servers, and the address offered in the ADVERTISE's IA_NA, or null.
import { contains6 } from "../../src/ipv6.js";
import type { Netns } from "./netns.js";

const SOLICIT = `
import ipaddress, os, socket, struct, sys
ifn = sys.argv[1]; idx = socket.if_nametoindex(ifn)
mac = bytes.fromhex(open(f"/sys/class/net/{ifn}/address").read().strip().replace(":", ""))
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 546, 0, idx))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
opt = lambda c, d: struct.pack("!HH", c, len(d)) + d
xid = os.urandom(3)
msg = bytes([1]) + xid + opt(1, struct.pack("!HH", 3, 1) + mac) + opt(3, struct.pack("!III", 1, 0, 0)) + opt(8, b"\\0\\0")
s.settimeout(1.5)
for _ in range(4):
    s.sendto(msg, ("ff02::1:2", 547, 0, idx))
    try:
        while True:
            d, _a = s.recvfrom(4096)
            if d[0] != 2 or d[1:4] != xid: continue
            i = 4
            while i + 4 <= len(d):
                c, l = struct.unpack("!HH", d[i:i + 4]); body = d[i + 4:i + 4 + l]; i += 4 + l
                j = 12
                while c == 3 and j + 4 <= len(body):
                    c2, l2 = struct.unpack("!HH", body[j:j + 4])
                    if c2 == 5: print(ipaddress.IPv6Address(body[j + 4:j + 20])); sys.exit(0)
                    j += 4 + l2
            sys.exit(3)
    except socket.timeout:
        continue
sys.exit(2)
`;

/** The address a DHCPv6 server on G's IFACE offers, or null when none answers. */
export async function solicit6(g: Netns, iface = "eth0"): Promise<string | null> {
  const r = await g.tryRun("python3", ["-c", SOLICIT, iface], { timeout: 15_000 });
  return r.exitCode === 0 ? String(r.stdout).trim() : null;
}

/** Wait until G's IFACE has a global IPv6 address in PREFIX ("fd00:0:0:6::/64", by SLAAC) and, when ROUTE, an
 *  IPv6 default route; returns the address, or null after TIMEOUT ms. */
export async function slaac(
  g: Netns,
  prefix: string,
  route = true,
  timeoutMs = 10_000,
  iface = "eth0",
): Promise<string | null> {
  const [net, len] = prefix.split("/") as [string, string];
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const addrs = (await g.sh(`ip -6 -o addr show dev ${iface} scope global -tentative | awk '{print $4}'`)).split(
      "\n",
    );
    const mine = addrs.find((a) => a && contains6({ address: net, prefix: Number(len) }, a.split("/")[0]!));
    if (mine && (!route || /default/.test(await g.sh("ip -6 route show default")))) return mine.split("/")[0]!;
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}
