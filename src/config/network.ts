// Validation of one network section: its name, its mode, which keys that mode takes, then each key's validator
// from the table (network-checks.ts).
import type { ConfigProblem } from "../errors.js";
import { badNetworkName } from "../core/ifname.js";
import { TRAITS } from "../modes.js";
import { finish, newDraft } from "./draft.js";
import { NETWORK_KEYS, modesTaking, specName, suggestKey } from "./keys.js";
import { NETWORK_CHECKS, runs } from "./network-checks.js";
import { MODES, type Mode, type Network } from "./types.js";
import { show } from "./value.js";

// A section whose mode is missing or misspelt is validated as the mode that needs the fewest keys and takes the
// most: each value is still checked where that does not depend on the mode, and no key is said to be missing.
const WITHOUT_MODE: Mode = "isolated";

/** Validate section NAME with VALUES; problems are pushed to OUT, the network is returned if usable. */
export function validateNetwork(
  file: string,
  name: string,
  values: Record<string, string>,
  lines: Record<string, number>,
  out: ConfigProblem[],
): Network | null {
  const before = out.length;
  const at = (key: string) => lines[key] ?? lines["[section]"] ?? 0;
  const bad = (key: string, message: string) => out.push({ file, line: at(key), key, message });
  const mode = checkMode(name, values, bad);
  const net = newDraft(name, mode ?? "nat", values.bridge ?? "", lines);
  const c = { name, mode, traits: TRAITS[mode ?? WITHOUT_MODE], values, net, bad };
  for (const check of NETWORK_CHECKS) if (runs(check, c.traits)) Object.assign(net, check.check(c));
  return out.length === before ? finish(net) : null;
}

// The section's name and mode, and every key: known, and taken by the mode. The mode if it is one.
function checkMode(name: string, values: Record<string, string>, bad: (key: string, message: string) => void) {
  const shown = show(name).slice(1, -1);
  const nameWhy = badNetworkName(name);
  if (nameWhy) bad(`[${shown}]`, `network name ${nameWhy}`);
  const mode = values.mode as Mode | undefined;
  if (mode === undefined) bad("mode", `missing in [${shown}]: say mode = ${MODES.join(" | ")}`);
  else if (!MODES.includes(mode)) bad("mode", `${show(mode)} is not a mode: use ${MODES.join(" | ")}`);
  const valid = mode !== undefined && MODES.includes(mode) ? mode : undefined;
  const known = Object.keys(NETWORK_KEYS).filter((k) => !k.includes("NAME"));
  for (const key of Object.keys(values)) {
    const spec = specName(key);
    if (!Object.hasOwn(NETWORK_KEYS, spec)) {
      const hint = suggestKey(key, known);
      bad(key, `unknown key${hint ? `; did you mean ${hint}?` : ""}`);
    } else if (valid && !modesTaking(spec).includes(valid)) {
      bad(key, `not used by mode ${valid} (only by ${modesTaking(spec).join(", ")})`);
    }
  }
  return valid;
}
