// Validation of `publish` (nat networks): ports of the host forwarded to a guest, such as
// `publish = tcp:8080=web:80, udp:5353=192.0.2.10:53, tcp:198.51.100.2:8443=web:443`.
import { contains, isIPv4, isNetworkOrBroadcast, type Cidr } from "../ipv4.js";
import type { Published, StaticHost } from "./types.js";
import { show } from "./value.js";

const ENTRY = /^(tcp|udp):(?:(\d+\.\d+\.\d+\.\d+):)?(\d+)=([^:=\s]+):(\d+)$/;

function port(text: string): number | null {
  const n = Number(text);
  return /^\d+$/.test(text) && n >= 1 && n <= 65535 ? n : null;
}

/** Parse VALUE of `publish` for a network with ADDRESS and static HOSTS; problems go to BAD. */
export function validatePublish(
  value: string,
  address: Cidr | undefined,
  hosts: StaticHost[],
  bad: (message: string) => void,
): Published[] {
  const out: Published[] = [];
  for (const raw of value.split(",").map((s) => s.trim())) {
    const p = entry(raw, address, hosts);
    const clash =
      typeof p === "string"
        ? undefined
        : out.find((o) => o.proto === p.proto && o.port === p.port && (o.hostAddr ?? "") === (p.hostAddr ?? ""));
    if (typeof p === "string") bad(p);
    else if (clash) bad(`${raw}: ${p.proto} port ${p.port} is already published`);
    else out.push(p);
  }
  return out;
}

// One entry RAW of the list, or why it is not one.
function entry(raw: string, address: Cidr | undefined, hosts: StaticHost[]): Published | string {
  const m = ENTRY.exec(raw);
  if (!m)
    return `${show(raw)} is not PROTO:[HOSTADDR:]PORT=GUEST:PORT, such as tcp:8080=web:80 or udp:5353=192.0.2.10:53`;
  const [, proto, bound, hp, target, tp] = m as unknown as [
    string,
    "tcp" | "udp",
    string | undefined,
    string,
    string,
    string,
  ];
  // 0.0.0.0 is "every address of the host" (as Docker's -p 0.0.0.0:PORT), the same as no address.
  const hostAddr = bound === "0.0.0.0" ? undefined : bound;
  const p = port(hp);
  const toPort = port(tp);
  if (p === null || toPort === null) return `${raw}: a port is 1..65535`;
  if (hostAddr !== undefined && !isIPv4(hostAddr)) return `${raw}: ${hostAddr} is not an IPv4 address`;
  if (hostAddr?.startsWith("127."))
    return `${raw}: 127.0.0.0/8 is not published (that would need route_localnet, which opens the host's loopback services to the network)`;
  const host = hosts.find((h) => h.name === target);
  const to = host ? host.ip : target;
  if (!host && !isIPv4(target)) return `${raw}: ${target} is neither a host.NAME of this network nor an IPv4 address`;
  if (address && (!contains(address, to) || isNetworkOrBroadcast(address, to) || to === address.address))
    return `${raw}: ${to} is not a guest address in ${address.address}/${address.prefix}`;
  return { proto, ...(hostAddr ? { hostAddr } : {}), port: p, to, ...(host ? { toName: host.name } : {}), toPort };
}
