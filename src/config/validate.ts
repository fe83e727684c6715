// From the text of kvmnet.conf to a validated Config, or every problem found in it.
import ini from "ini";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { crossCheck } from "./cross.js";
import { aclCrossCheck } from "./acl.js";
import { validateGlobal } from "./global.js";
import { validateNetwork } from "./network.js";
import { hostOverrides, isHostSection, type HostOverride } from "./host-sections.js";
import { vxlanCrossCheck, vxlanDevCheck } from "./vxlan.js";
import { normaliseSections, scanIni, type Scan, type ScannedKey } from "./scan.js";
import type { Config, Firewall, Network } from "./types.js";
import { controlChar, disagreement } from "./value.js";

/** Defaults of `[global]`. */
export const DEFAULTS = { firewall: "nftables" as Firewall, stateDir: "/run/kvmnet", leaseDir: "/var/lib/kvmnet" };

/** Parse and validate TEXT read from FILE; throws ConfigError listing every problem. */
export function parseConfig(file: string, text: string): Config {
  const scan = scanIni(file, text);
  if (scan.foreign) throw new ConfigError(scan.problems);
  const problems: ConfigProblem[] = [...scan.problems];
  // A value that cannot be taken as written is reported once, not again by the key's own check.
  const valueProblems = new Set<string>();
  const { linesOf, valuesOf } = sectionReader(file, text, scan, problems, valueProblems);
  const config: Config = { file, ...DEFAULTS, networks: [], lines: linesOf("global") };
  if (scan.sections.has("global")) {
    const lines = linesOf("global");
    validateGlobal(valuesOf("global"), config, (key, message) =>
      problems.push({ file, line: lines[key]!, key, message }),
    );
  }
  const elsewhere = new Map<string, HostOverride & { net: string }>();
  const hostOwn = hostOverrides(file, scan.sections, valuesOf, linesOf, problems, undefined, elsewhere);
  for (const section of scan.sections.keys()) {
    if (section === "global" || isHostSection(section)) continue;
    const [values, lines] = [valuesOf(section), linesOf(section)];
    Object.assign(values, hostOwn.get(section)?.values);
    Object.assign(lines, hostOwn.get(section)?.lines);
    const net = validateNetwork(file, section, values, lines, problems);
    if (net) config.networks.push(net);
  }
  vxlanDevCheck(file, config.networks, config.networks, problems);
  validateElsewhere(file, elsewhere, { linesOf, valuesOf }, config.networks, problems);
  crossCheck(file, config.networks, problems);
  vxlanCrossCheck(file, config.networks, problems);
  const sections = [...scan.sections.keys()].filter((s) => s !== "global" && !isHostSection(s));
  aclCrossCheck(file, config.networks, sections, problems);
  const once = oncePerValue(problems, valueProblems);
  if (once.length > 0) throw new ConfigError(once.sort((a, b) => a.line - b.line));
  return config;
}

// Each section's key lines and values as written (copies: a caller may add to them).
interface SectionReader {
  linesOf: (section: string) => Record<string, number>;
  valuesOf: (section: string) => Record<string, string>;
}

// The reader of SCAN's sections. A value is taken only as `ini` reads it too; one that cannot be taken as
// written goes to PROBLEMS (its line and key to VALUE_PROBLEMS), the first time its section is read.
function sectionReader(
  file: string,
  text: string,
  scan: Scan,
  problems: ConfigProblem[],
  valueProblems: Set<string>,
): SectionReader {
  const data = ini.parse(normaliseSections(text)) as Record<string, Record<string, unknown> | undefined>;
  // Keys by section, each once (null prototypes: a key named like an Object method is just an unknown key).
  const bySection = new Map<string, ScannedKey[]>();
  for (const k of scan.keys) {
    const list = bySection.get(k.section);
    if (list) list.push(k);
    else bySection.set(k.section, [k]);
  }
  const linesOf = (section: string) => {
    const lines: Record<string, number> = Object.create(null);
    lines["[section]"] = scan.sections.get(section) ?? 0;
    for (const k of bySection.get(section) ?? []) lines[k.key] = k.line;
    return lines;
  };
  const valuesCache = new Map<string, Record<string, string>>();
  const valuesOf = (section: string) => {
    const had = valuesCache.get(section);
    if (had) return { ...had };
    const decoded = Object.hasOwn(data, section) ? data[section] : undefined;
    const bad = (k: ScannedKey, message: string) => {
      problems.push({ file, line: k.line, key: k.key, message });
      valueProblems.add(`${k.line}\0${k.key}`);
    };
    const out = sectionValues(bySection.get(section) ?? [], decoded, bad);
    valuesCache.set(section, out);
    return { ...out };
  };
  return { linesOf, valuesOf };
}

// KEYS' values as written; a value that cannot be taken so (or that `ini`, DECODED, reads otherwise) goes to BAD.
function sectionValues(
  keys: ScannedKey[],
  decoded: Record<string, unknown> | undefined,
  bad: (k: ScannedKey, message: string) => void,
): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const k of keys) {
    const v = k.value.value;
    const cc = controlChar(v);
    if (k.value.error) bad(k, k.value.error);
    else if (cc) bad(k, `the value holds a control character (${cc}): values are single lines of text`);
    else if (!k.cr) {
      const why = disagreement(v, decoded && Object.hasOwn(decoded, k.key) ? decoded[k.key] : undefined);
      if (why) bad(k, why);
    }
    out[k.key] = v;
  }
  return out;
}

// Other hosts' sections are validated as they will be read there: a bad role is an error on every host. Only
// the problems on their own lines are reported (the network's own are, once, already).
function validateElsewhere(
  file: string,
  elsewhere: Map<string, HostOverride & { net: string }>,
  { linesOf, valuesOf }: SectionReader,
  networks: Network[],
  problems: ConfigProblem[],
): void {
  for (const o of elsewhere.values()) {
    const mine: ConfigProblem[] = [];
    const lines = { ...linesOf(o.net), ...o.lines };
    const net = validateNetwork(file, o.net, { ...valuesOf(o.net), ...o.values }, lines, mine);
    if (net) vxlanDevCheck(file, [net], networks, mine);
    const own = new Set(Object.values(o.lines));
    problems.push(...mine.filter((p) => own.has(p.line)));
  }
}

// PROBLEMS with each value problem (by line and key, in VALUE_PROBLEMS) kept once.
function oncePerValue(problems: ConfigProblem[], valueProblems: Set<string>): ConfigProblem[] {
  const kept = new Set<string>();
  return problems.filter((p) => {
    const id = `${p.line}\0${p.key}`;
    if (!valueProblems.has(id)) return true;
    if (kept.has(id)) return false;
    kept.add(id);
    return true;
  });
}
