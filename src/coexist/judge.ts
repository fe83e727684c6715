// Which of the coexistence problems `kvmnet doctor` knows (ufw's denies, another table's drop policy on forward or
// input, br_netfilter sending bridged frames into them) break one network, judged from what was read, and which
// of them to warn about now: each once, until it is gone (then a later return warns again). Pure.
import type { Exec } from "../host/exec.js";
import { checkForwardDrop } from "./forward-drop.js";
import { checkInputDrop } from "./input-drop.js";
import { seedRulesets } from "./rulesets.js";
import type { DoctorContext, Finding } from "./finding.js";
import { checkUfw } from "./ufw.js";
import type { Config, Network } from "../config/types.js";
import type { CoexistView } from "./read-others.js";
import { sha256Hex } from "../core/sha256.js";

// The checks judge only what the view holds: they never run anything.
const noExec: Exec = { tryRun: () => ({ ok: false, code: null, stdout: "", stderr: "not read" }) };

/** The findings that break NET (level fail): ufw's always (from its files), the drop chains only when VIEW holds
 *  the rulesets. Each is about NET alone, so its text does not change with other networks. */
export function coexistFindings(config: Config, net: Network, view: CoexistView): Finding[] {
  const ctx: DoctorContext = {
    config: { ...config, networks: [net] },
    env: {},
    exec: noExec,
    read: (p) => view.files[p] ?? null,
  };
  seedRulesets(ctx, view.rulesets ?? { nft: null, iptables: null, legacy: null, iptablesIs: "nft" });
  const found = [checkUfw(ctx), ...(view.rulesets ? [...checkForwardDrop(ctx), ...checkInputDrop(ctx)] : [])];
  return found.filter((f) => f.level === "fail" && f.networks?.includes(net.name));
}

/** The finding ids a run judged: the drop chains only when the rulesets were read. */
export function judgedIds(rulesets: boolean): string[] {
  return rulesets ? ["ufw", "forward-drop", "input-drop"] : ["ufw"];
}

/** Prefix of NET's marker files in state_dir: `NET.coexist.ID.HASH`, one per finding warned about. */
export function markerPrefix(net: string): string {
  return `${net}.coexist.`;
}

/** The marker file name of finding F of network NET (changes when what it says changes). */
export function markerName(net: string, f: Finding): string {
  const h = sha256Hex(`${f.message}\n${f.fix ?? ""}`).slice(0, 12);
  return `${markerPrefix(net)}${f.id}.${h}`;
}

/** What to do now: SAY (and mark) the findings with no marker yet; REMOVE the markers of findings of the ids
 *  judged (JUDGED) that are gone. MARKERS: NET's marker file names present in state_dir. */
export function planWarnings(net: string, findings: Finding[], markers: string[], judged: string[]) {
  const current = new Map(findings.map((f) => [markerName(net, f), f]));
  const say = [...current].filter(([name]) => !markers.includes(name)).map(([name, f]) => ({ name, finding: f }));
  const remove = markers.filter((m) => {
    const id = m.slice(markerPrefix(net).length).replace(/\.[^.]*$/, "");
    return judged.includes(id) && !current.has(m);
  });
  return { say, remove };
}

/** The stderr lines of a warning about F for NET. */
export function warningLines(net: string, f: Finding): string[] {
  return [
    `warning: network ${net}: ${f.message}`,
    ...(f.fix ? [`  fix: ${f.fix}`] : []),
    `  (said once; kvmnet doctor shows it again)`,
  ];
}
