# Sends one router solicitation on IFACE and prints the RDNSS addresses (RFC 8106, option 25) of the first router
# advertisement that carries any; exit 1 when none comes within 30 s. Run inside a guest namespace.
import select, socket, sys, time

iface = sys.argv[1] if len(sys.argv) > 1 else "eth0"
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
# Neighbour discovery demands hop limit 255; the kernel fills in the ICMPv6 checksum.
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.sendto(bytes([133, 0, 0, 0, 0, 0, 0, 0]), ("ff02::2", 0, 0, socket.if_nametoindex(iface)))
deadline = time.time() + 30
while time.time() < deadline:
    if not select.select([s], [], [], max(0, deadline - time.time()))[0]:
        break
    d, _ = s.recvfrom(4096)
    if not d or d[0] != 134:
        continue
    o, found = 16, []
    while o + 8 <= len(d) and d[o + 1]:
        t, n = d[o], d[o + 1] * 8
        if t == 25:
            found += [socket.inet_ntop(socket.AF_INET6, d[i : i + 16]) for i in range(o + 8, o + n, 16)]
        o += n
    if found:
        print("\n".join(found))
        sys.exit(0)
sys.exit(1)
