// The host's rulesets as the doctor's firewall checks read them: `nft list ruleset` and the filter table of
// `iptables-save`, each null when its tool is missing or fails. Read once per check, only by doctor.
import { which } from "./tools.js";
import type { DoctorContext } from "./types.js";

/** Both rulesets' text (null where the tool is missing or failed). */
export interface Rulesets {
  nft: string | null;
  iptables: string | null;
}

/** Read the rulesets; parse each with the given parser and return all it found, or null when neither ran. */
export function fromRulesets<T>(ctx: DoctorContext, parse: { nft: (text: string) => T[]; iptables: (text: string) => T[] }): T[] | null {
  const r = readRulesets(ctx);
  if (r.nft === null && r.iptables === null) return null;
  return [...(r.nft !== null ? parse.nft(r.nft) : []), ...(r.iptables !== null ? parse.iptables(r.iptables) : [])];
}

/** Read both rulesets. */
export function readRulesets(ctx: DoctorContext): Rulesets {
  const run = (cmd: string, args: string[]) => {
    if (!which(cmd, ctx.env)) return null;
    const r = ctx.exec.tryRun(cmd, args);
    return r.ok ? r.stdout : null;
  };
  return { nft: run("nft", ["list", "ruleset"]), iptables: run("iptables-save", ["-t", "filter"]) };
}
