// Validation of a network's firewall rules (ACLs): `allow_in.NAME`, `deny_in.NAME`, `allow_out.NAME` and
// `deny_out.NAME`, each a rule read aloud: `allow_in.ssh = tcp/22 from 198.51.100.0/24`, `deny_out.smtp = tcp/25`,
// `allow_in.pg = tcp/5432 from web` (the guests of network web). "in": connections opened into this network's
// guests; "out": connections its guests open. A rule names its NAME so that its counter can be told apart.
import type { ConfigProblem } from "../errors.js";
import { contains, isIPv4, parseCidr, subnetOf, type Cidr } from "../ipv4.js";
import { canonical6, contains6, isIPv6, parseCidr6, subnetOf6, type Cidr6 } from "../ipv6.js";
import { badNetworkName } from "../core/ifname.js";
import type { AclRule, Network } from "./types.js";
import { show } from "./value.js";

/** The four rule families, as the part of the key before the dot. */
export const ACL_KEYS = ["allow_in", "deny_in", "allow_out", "deny_out"] as const;

const RULE_NAME = /^[A-Za-z0-9_]{1,32}$/;
const PROTO = /^(tcp|udp|icmp|any)(?:\/(.*))?$/i;

/** The family of KEY ("allow_in.ssh" → "allow_in"), or null when KEY is not a rule. */
export function aclFamily(key: string): (typeof ACL_KEYS)[number] | null {
  const dot = key.indexOf(".");
  const f = dot > 0 ? key.slice(0, dot) : "";
  return (ACL_KEYS as readonly string[]).includes(f) ? (f as (typeof ACL_KEYS)[number]) : null;
}

/** An address or prefix as nft prints it (host bits cleared, /32 and /128 dropped), or null if it is neither. */
export function aclAddress(text: string): string | null {
  if (isIPv4(text)) return parseCidr(`${text}/32`)!.address;
  if (isIPv6(text)) return canonical6(text);
  const c4 = parseCidr(text);
  if (c4) return c4.prefix === 32 ? c4.address : subnetOf(c4);
  const c6 = text.includes("/") ? parseCidr6(text) : null;
  if (c6 && c6.prefix > 0) return c6.prefix === 128 ? c6.address : subnetOf6(c6);
  return null;
}

// The ports after "tcp/": a list of ports and ranges, 1..65535.
function parsePorts(text: string): string[] | string {
  const out: string[] = [];
  for (const p of text.split(",").map((s) => s.trim())) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(p);
    const [a, b] = m ? [Number(m[1]), m[2] === undefined ? undefined : Number(m[2])] : [0, 0];
    if (!m || a < 1 || a > 65535 || (b !== undefined && (b < 1 || b > 65535)))
      return `${show(p)} is not a port 1..65535 or a range such as 8000-8100`;
    if (b !== undefined && b < a) return `port range ${p} is reversed`;
    out.push(b === undefined || b === a ? String(a) : `${a}-${b}`);
  }
  return out;
}

/** One rule's VALUE under KEY, for a network with ADDRESS (and ADDRESS6), or why it is not one. */
export function parseAclRule(key: string, value: string, address?: Cidr, address6?: Cidr6): AclRule | string {
  const family = aclFamily(key)!;
  const name = key.slice(family.length + 1);
  if (!RULE_NAME.test(name)) return `${show(name)} is not a rule name (letters, digits and _, at most 32)`;
  const [action, dir] = family.split("_") as ["allow" | "deny", "in" | "out"];
  const rule: AclRule = { key, action, dir };
  const words = value.trim().split(/\s+/).filter(Boolean);
  if (!words.length)
    return `empty: say what it ${action}s, such as ${dir === "in" ? "tcp/22 from 198.51.100.0/24" : "tcp/25 or to 203.0.113.0/24"}`;
  // The far side is "from" for connections coming in, "to" for those going out; the near side is a guest.
  const far = dir === "in" ? "from" : "to";
  const seen = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const lw = w.toLowerCase();
    if (lw === "from" || lw === "to") {
      if (seen.has(lw)) return `"${lw}" said twice: one ${lw} per rule (write another rule for another place)`;
      seen.add(lw);
      const what = words[++i];
      if (what === undefined) return `"${lw}" needs a place after it: an address, a prefix, a network's name or any`;
      const why = lw === far ? farSide(rule, what) : nearSide(rule, what, address, address6);
      if (why) return why;
      continue;
    }
    if (seen.has("proto") && PROTO.test(w)) return `${show(w)}: one protocol per rule (write another rule for another)`;
    seen.add("proto");
    const why = protoWord(rule, w);
    if (why) return why;
  }
  const fams = [rule.guest, ...(rule.peer?.addrs ?? [])].filter(Boolean).map((a) => a!.includes(":"));
  if (fams.includes(true) && fams.includes(false)) return "mixes an IPv4 and an IPv6 address: one family per rule";
  return rule;
}

// The protocol word W (tcp/PORT, udp/PORT, tcp, udp, icmp, any) into RULE, or why it is not one.
function protoWord(rule: AclRule, w: string): string | null {
  const m = PROTO.exec(w);
  if (!m) return `${show(w)} is not a protocol (tcp/PORT, udp/PORT, tcp, udp, icmp, any), "from PLACE" or "to PLACE"`;
  const proto = m[1]!.toLowerCase();
  if (m[2] !== undefined && (proto === "icmp" || proto === "any"))
    return `${show(w)}: ${proto} has no ports (ports go with tcp or udp)`;
  if (proto !== "any") rule.proto = proto as "tcp" | "udp" | "icmp";
  if (m[2] === undefined) return null;
  const ports = parsePorts(m[2]);
  if (typeof ports === "string") return ports;
  rule.ports = ports;
  return null;
}

// The far side: an address or prefix, a network's name (resolved in aclCrossCheck), or any.
function farSide(rule: AclRule, what: string): string | null {
  if (/^any$/i.test(what)) return null;
  const a = aclAddress(what);
  if (a) {
    rule.peer = { addrs: [a] };
    return null;
  }
  if (/^[\d.:/]+$/.test(what) || badNetworkName(what))
    return `${show(what)} is not an address, a prefix such as 198.51.100.0/24, a network's name or any`;
  rule.peer = { addrs: [], net: what };
  return null;
}

// The near side: one of this network's guests (an address or prefix inside its subnet), or any.
function nearSide(rule: AclRule, what: string, address?: Cidr, address6?: Cidr6): string | null {
  if (/^any$/i.test(what)) return null;
  const a = aclAddress(what);
  const side = rule.dir === "in" ? "to" : "from";
  if (!a) return `${show(what)} after "${side}" is not a guest's address or a prefix of this network`;
  const base = a.split("/")[0]!;
  const inside = a.includes(":") ? !!address6 && contains6(address6, base) : !!address && contains(address, base);
  if (!inside)
    return `${what} after "${side}" is not in this network's subnet (rules name the other side with "${side === "to" ? "from" : "to"}")`;
  rule.guest = a;
  return null;
}

/** The rules among VALUES (file order); problems go to BAD. Absent when there is none. */
export function validateAcl(
  values: Record<string, string>,
  address: Cidr | undefined,
  address6: Cidr6 | undefined,
  bad: (key: string, message: string) => void,
): AclRule[] | undefined {
  const rules: AclRule[] = [];
  for (const key of Object.keys(values)) {
    if (!aclFamily(key)) continue;
    const r = parseAclRule(key, values[key]!, address, address6);
    if (typeof r === "string") bad(key, r);
    else rules.push(r);
  }
  return rules.length ? rules : undefined;
}

/** Fill in the networks that NETS' rules name (their bridge and subnets), and push to PROBLEMS a rule that names
 *  no network of SECTIONS, its own or one without a subnet (a backend without rules refuses them: firewall/caps.ts). */
export function aclCrossCheck(
  file: string,
  nets: Network[],
  sections: Iterable<string>,
  problems: ConfigProblem[],
): void {
  const byName = new Map(nets.map((n) => [n.name, n]));
  const known = [...sections];
  for (const n of nets) {
    for (const r of n.acl ?? []) {
      const push = (message: string) => problems.push({ file, line: n.lines[r.key] ?? 0, key: r.key, message });
      const ref = r.peer?.net;
      if (ref === undefined) continue;
      const other = byName.get(ref);
      if (ref === n.name) push(`${ref} is this network: its guests meet on the bridge, where rules do not apply`);
      else if (!other && !known.includes(ref))
        push(`no network is named ${show(ref)} (networks: ${known.join(", ")}); or write an address or prefix`);
      else if (other && !other.address)
        push(`network ${ref} (mode ${other.mode}) has no subnet the host routes: name a nat, routed or host-only one`);
      else if (other?.address) {
        const guestV6 = r.guest?.includes(":");
        r.peer = {
          net: ref,
          bridge: other.bridge,
          addrs: [
            ...(guestV6 ? [] : [subnetOf(other.address)]),
            ...(other.address6 && guestV6 !== false ? [subnetOf6(other.address6)] : []),
          ],
        };
      }
    }
  }
}
