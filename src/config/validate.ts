// From the text of kvmnet.conf to a validated Config, or every problem found in it.
import ini from "ini";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { overlaps } from "../ipv4.js";
import { GLOBAL_KEYS, suggestKey } from "./keys.js";
import { validateNetwork } from "./network.js";
import { normaliseSections, scanIni } from "./scan.js";
import type { Config, Firewall, Network } from "./types.js";

/** Defaults of `[global]`. */
export const DEFAULTS = { firewall: "nftables" as Firewall, stateDir: "/run/kvmnet", leaseDir: "/var/lib/kvmnet" };

/** Parse and validate TEXT read from FILE; throws ConfigError listing every problem. */
export function parseConfig(file: string, text: string): Config {
  const scan = scanIni(file, text);
  const problems: ConfigProblem[] = [...scan.problems];
  const data = ini.parse(normaliseSections(text)) as Record<string, Record<string, unknown>>;
  const linesOf = (section: string) => {
    const lines: Record<string, number> = { "[section]": scan.sections.get(section) ?? 0 };
    for (const k of scan.keys) if (k.section === section) lines[k.key] = k.line;
    return lines;
  };
  const valuesOf = (section: string) => {
    const out: Record<string, string> = {};
    for (const k of scan.keys) {
      if (k.section !== section) continue;
      const v = data[section]?.[k.key];
      out[k.key] = typeof v === "string" ? v.trim() : Array.isArray(v) ? v.join(",") : v === true ? "" : String(v ?? "");
    }
    return out;
  };

  const config: Config = { file, ...DEFAULTS, networks: [] };
  if (scan.sections.has("global")) {
    const values = valuesOf("global");
    const lines = linesOf("global");
    for (const [key, value] of Object.entries(values)) {
      const bad = (message: string) => problems.push({ file, line: lines[key]!, key, message });
      if (key === "firewall") {
        if (value === "nftables" || value === "iptables") config.firewall = value;
        else bad(`"${value}" is not nftables or iptables`);
      } else if (key === "state_dir" || key === "lease_dir") {
        if (!/^\/[^\0]*$/.test(value) || value.includes("..")) bad(`"${value}" is not an absolute path`);
        else config[key === "state_dir" ? "stateDir" : "leaseDir"] = value.replace(/\/+$/, "") || "/";
      } else {
        const hint = suggestKey(key, GLOBAL_KEYS);
        bad(`unknown key in [global]${hint ? `; did you mean ${hint}?` : ""}`);
      }
    }
  }
  for (const section of scan.sections.keys()) {
    if (section === "global") continue;
    const net = validateNetwork(file, section, valuesOf(section), linesOf(section), problems);
    if (net) config.networks.push(net);
  }
  crossCheck(file, config.networks, problems);
  if (problems.length > 0) throw new ConfigError(problems.sort((a, b) => a.line - b.line));
  return config;
}

// Checks that involve two networks: one bridge each, no overlapping subnets, one default.
function crossCheck(file: string, nets: Network[], problems: ConfigProblem[]): void {
  nets.forEach((n, i) => {
    for (const m of nets.slice(0, i)) {
      if (n.bridge === m.bridge) {
        problems.push({ file, line: n.lines.bridge ?? 0, key: "bridge", message: `${n.bridge} is already the bridge of [${m.name}] (line ${m.lines.bridge}): one network per bridge` });
      }
      if (n.address && m.address && overlaps(n.address, m.address)) {
        problems.push({ file, line: n.lines.address ?? 0, key: "address", message: `subnet overlaps that of [${m.name}] (line ${m.lines.address})` });
      }
      if (n.isDefault && m.isDefault) {
        problems.push({ file, line: n.lines.default ?? 0, key: "default", message: `[${m.name}] is already the default network (line ${m.lines.default})` });
      }
    }
    const ownIfaces = nets.flatMap((o) => [o.bridge]);
    for (const key of ["uplink", "trunk"] as const) {
      const v = n[key];
      if (v && ownIfaces.includes(v)) problems.push({ file, line: n.lines[key] ?? 0, key, message: `${v} is a kvmnet bridge, not a NIC` });
    }
  });
}
