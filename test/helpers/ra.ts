// A router advertisement forged by a guest, for the tests that a guest never routes the host.

/** A router advertisement from IFNAME's link-local address to all nodes: router lifetime 1800 s, source
 *  link-layer address, prefix PREFIX/64 on-link and for autoconfiguration. Raw ICMPv6: the kernel fills in the
 *  checksum. */
export const RA_PY = `import socket, struct, sys
ifname, prefix = sys.argv[1], sys.argv[2]
idx = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
mac = bytes.fromhex(open("/sys/class/net/%s/address" % ifname).read().strip().replace(":", ""))
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
ra += struct.pack("!BB", 1, 1) + mac
ra += struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, prefix)
s.sendto(ra, ("ff02::1", 0, 0, idx))
`;
