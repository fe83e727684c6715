// What kvmnet-qemu and kvmnet-userd say to each other over the unix socket: one JSON request line, one JSON reply
// line. Pure: parsing and its limits, so that every refusal of a malformed request is a unit-tested string.
// Who asks is never part of a request: the service takes it from the socket (SO_PEERCRED, ./peer.ts).
import { badName } from "../../core/ifname.js";

/** Bounds of one connection: a request's size and time, and what the service holds at once. */
export const LIMITS = {
  /** Longest request line, newline included. */
  requestBytes: 4096,
  /** Time a client has to send its request, and to be answered. */
  requestMs: 5_000,
  /** Connections open at once (held taps included); more are refused until one ends. */
  connections: 128,
  /** Connections still sending or waiting for an answer, at once, over all users. */
  pending: 32,
  /** Of those, one user's (known from SO_PEERCRED as soon as a connection comes): one user's silent connections
   *  never take every slot, so the service keeps answering everyone else. */
  pendingPerUser: 12,
  /** Taps one user holds at once. */
  tapsPerUser: 16,
};

/** Default path of the service's socket (systemd's kvmnet-userd.socket makes it). */
export const SOCKET_PATH = "/run/kvmnet/user.sock";

/** A request. OPEN: a tap on NETWORK (the only one the caller may use when absent), named TAP or one kvmnet
 *  chooses, for the guest NIC with MAC (the guard pins it; on a guard = yes network kvmnet chooses one when
 *  absent); held until the connection ends. LIST: the caller's taps. REMOVE: one of the caller's taps. */
export type Request =
  { op: "open"; network?: string; tap?: string; mac?: string } | { op: "list" } | { op: "remove"; tap: string };

/** One tap a user holds. */
export interface UserTap {
  tap: string;
  network: string;
  uid: number;
  user: string;
}

/** The answer. MAC: the guest MAC the guard pins for an opened tap (the request's, or the one kvmnet chose). CODE:
 *  the exit code the client exits with (2 refused, nothing changed; 1 a command failed). */
export type Reply =
  { ok: true; tap?: string; mac?: string; taps?: UserTap[] } | { ok: false; code: 1 | 2; error: string };

const FIELDS: Record<Request["op"], readonly string[]> = {
  open: ["op", "network", "tap", "mac"],
  list: ["op"],
  remove: ["op", "tap"],
};

/** The request LINE holds (without its newline), or what is wrong with it. */
export function parseRequest(line: string): Request | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { error: `malformed request: not JSON (${JSON.stringify(line.slice(0, 40))})` };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { error: "malformed request: not an object" };
  const r = v as Record<string, unknown>;
  const op = r.op;
  if (typeof op !== "string" || !Object.hasOwn(FIELDS, op))
    return { error: `malformed request: op is ${JSON.stringify(op) ?? "missing"}, not open, list or remove` };
  const fields = FIELDS[op as Request["op"]];
  const extra = Object.keys(r).find((k) => !fields.includes(k));
  if (extra !== undefined)
    return {
      error: /^(uid|gid|pid|user|users?name|group|groups|owner|as)$/i.test(extra)
        ? `forged request: field ${JSON.stringify(extra)} refused; the service takes who you are from the socket`
        : `malformed request: unknown field ${JSON.stringify(extra.slice(0, 40))} for op ${op}`,
    };
  for (const k of ["network", "tap"] as const) {
    if (r[k] === undefined) continue;
    if (typeof r[k] !== "string") return { error: `malformed request: ${k} is not a string` };
    const why = badName(r[k]);
    if (why) return { error: `${k} ${why}` };
  }
  if (r.mac !== undefined) {
    const why = typeof r.mac === "string" ? badMac(r.mac) : "is not a string";
    if (why) return { error: `mac ${why}` };
  }
  if (op === "remove" && r.tap === undefined) return { error: "malformed request: remove needs the tap" };
  return r as Request;
}

/** Why MAC cannot be a guest NIC's address the guard pins, or null: six hex pairs with colons, unicast, not zero. */
export function badMac(mac: string): string | null {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac))
    return `${JSON.stringify(mac.slice(0, 40))} is not a MAC address such as 52:54:00:12:34:56`;
  if (parseInt(mac.slice(0, 2), 16) & 1) return `${mac} is a multicast address, not a NIC's`;
  if (/^(00:){5}00$/.test(mac)) return `${mac} is the zero address, not a NIC's`;
  return null;
}

/** A refusal: exit 2, nothing changed. */
export function refused(error: string): Reply {
  return { ok: false, code: 2, error };
}
