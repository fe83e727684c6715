// Validation of a network's per-port policy: `port_isolation` (guests of one bridge cannot reach each other) and
// `rate` (bandwidth limits), for the whole network and per tap (`tap.NAME.port_isolation`, `tap.NAME.rate`).
import { badName } from "../core/ifname.js";
import { parseBool } from "./keys.js";
import type { Policy, PortPolicy, Rate } from "./types.js";
import { show } from "./value.js";

/** The per-tap keys, as `tap.NAME.KEY`. */
export const TAP_KEYS = ["port_isolation", "rate"] as const;

// tc's decimal units of bits per second (tc reads them case-insensitively; so does kvmnet).
const UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };
const MIN_RATE = 8_000;
const MAX_RATE = 400e9;

/** The tap name and key of a `tap.NAME.KEY` key, or null when KEY is not one. */
export function tapKey(key: string): { tap: string; key: (typeof TAP_KEYS)[number] } | null {
  if (!key.startsWith("tap.")) return null;
  const k = TAP_KEYS.find((t) => key.endsWith(`.${t}`) && key.length > `tap..${t}`.length - 1);
  return k ? { tap: key.slice(4, -(k.length + 1)), key: k } : null;
}

/** One rate as bits per second, or why it is not one ("none": no limit, null). */
export function parseRate(text: string): number | null | string {
  const t = text.trim();
  if (/^(none|unlimited)$/i.test(t)) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(t);
  if (!m) return `${show(t)} is not a rate such as 100mbit`;
  const unit = m[2]!.toLowerCase();
  if (!unit) return `${show(t)} has no unit: say bit, kbit, mbit or gbit (bits per second)`;
  if (/^[kmgt]?(bps|b|byte|bytes)$/.test(unit) || /^[kmgt]?i?b$/.test(unit))
    return `${show(t)}: kvmnet takes bits per second (kbit, mbit, gbit); tc's ${unit} means bytes`;
  const factor = UNITS[unit];
  if (factor === undefined) return `${show(unit)} is not a unit: say bit, kbit, mbit or gbit`;
  const bits = Math.round(Number(m[1]) * factor);
  if (bits < MIN_RATE) return `${t} is below the least rate kvmnet sets, 8kbit`;
  if (bits > MAX_RATE) return `${t} is above 400gbit`;
  return bits;
}

/** A `rate` value: DOWN or DOWN/UP (the guest's download, then its upload); a single value limits both. */
export function parseRateValue(text: string): Rate | string {
  const parts = text.split("/");
  if (parts.length > 2) return `${show(text)} is not RATE or DOWNLOAD/UPLOAD, such as 100mbit/20mbit`;
  const [down, up] = parts.map(parseRate);
  for (const p of [down, up]) if (typeof p === "string") return p;
  const rate = { down: down as number | null, up: (parts.length === 2 ? up : down) as number | null };
  return rate;
}

/** Validate the policy keys in VALUES; problems go to BAD. Absent when no policy key is set. */
export function validatePolicy(
  values: Record<string, string>,
  bad: (key: string, message: string) => void,
): Policy | undefined {
  const policy: Policy = { isolated: false, rate: null, taps: {} };
  let any = false;
  if (values.port_isolation !== undefined) {
    any = true;
    const b = isolation(values.port_isolation, values, "them");
    if (typeof b === "string") bad("port_isolation", b);
    else policy.isolated = b;
  }
  if (values.rate !== undefined) {
    any = true;
    const r = parseRateValue(values.rate);
    if (typeof r === "string") bad("rate", r);
    else policy.rate = r.down === null && r.up === null ? null : r;
  }
  for (const key of Object.keys(values)) {
    const tk = tapKey(key);
    if (!tk) continue;
    any = true;
    tapPolicy(tk, values[key]!, values, policy, (m) => bad(key, m));
  }
  return any ? policy : undefined;
}

// `tap.NAME.KEY = V` into POLICY's entry for the tap; problems go to BAD.
function tapPolicy(
  tk: { tap: string; key: (typeof TAP_KEYS)[number] },
  v: string,
  values: Record<string, string>,
  policy: Policy,
  bad: (message: string) => void,
): void {
  const why = badName(tk.tap);
  if (why) return bad(`tap name ${why}`);
  const port: PortPolicy = (policy.taps[tk.tap] ??= {});
  const got = tk.key === "port_isolation" ? isolation(v, values, "it") : parseRateValue(v);
  if (typeof got === "string") bad(got);
  else if (typeof got === "boolean") port.isolated = got;
  else port.rate = got;
}

// A port_isolation value V, or why it cannot be taken (WHO: the guests it would isolate, in the message).
function isolation(v: string, values: Record<string, string>, who: "them" | "it"): boolean | string {
  const b = parseBool(v);
  if (b === null) return `${show(v)} is not yes or no`;
  // A member host's guests reach the gateway through the one VXLAN port that also brings the other hosts'
  // guests: the port's flag cannot tell them apart (README, "Port isolation").
  if (b && values.vxlan_id !== undefined)
    return `not on a network across hosts (vxlan_id): guests on other hosts would still reach ${who}`;
  return b;
}

/** What TAP gets on a network with POLICY: isolated or not, and its limits (null: none). */
export function portPolicy(policy: Policy | undefined, tap: string): { isolated: boolean; rate: Rate | null } {
  if (!policy) return { isolated: false, rate: null };
  const own = Object.hasOwn(policy.taps, tap) ? policy.taps[tap]! : {};
  const rate = own.rate !== undefined ? own.rate : policy.rate;
  return {
    isolated: own.isolated ?? policy.isolated,
    rate: rate && (rate.down !== null || rate.up !== null) ? rate : null,
  };
}

/** A rate in bits per second as people write it (tc's units): 20mbit, 1.5gbit, 64kbit. */
export function showRate(bits: number | null): string {
  if (bits === null) return "none";
  for (const [unit, f] of [
    ["gbit", 1e9],
    ["mbit", 1e6],
    ["kbit", 1e3],
  ] as const)
    if (bits >= f && Number.isInteger((bits / f) * 1000)) return `${+(bits / f).toFixed(3)}${unit}`;
  return `${bits}bit`;
}
