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
export function fromRulesets<T>(
  ctx: DoctorContext,
  parse: { nft: (text: string) => T[]; iptables: (text: string) => T[] },
): T[] | null {
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

/** A base chain of another table with policy drop on one hook, and what its table accepts (see parseNftDrops). */
export interface NftDrop {
  family: string;
  table: string;
  chain: string;
  accepts: string[];
}

/** The chains on HOOK with policy drop in `nft list ruleset` output, kvmnet's own tables excluded; every line
 *  of the table that ACCEPT maps to a string adds it to that table's accepts (an accept in any of its chains
 *  counts: admins put them in the base chain or in a chain it jumps to, such as DOCKER-USER). */
export function parseNftDrops(
  text: string,
  hook: "input" | "forward",
  accept: (line: string) => string | null,
): NftDrop[] {
  const out: NftDrop[] = [];
  let table: NftDrop | null = null;
  let chain = "";
  for (const line of text.split("\n")) {
    const t = /^table (\S+) (\S+) \{/.exec(line);
    if (t) table = { family: t[1]!, table: t[2]!, chain: "", accepts: [] };
    const c = /^\s+chain (\S+) \{/.exec(line);
    if (c) chain = c[1]!;
    if (!table || /^kvmnet(-|$)/.test(table.table)) continue;
    if (new RegExp(`\\bhook ${hook}\\b.*\\bpolicy drop;`).test(line))
      out.push({ ...table, chain, accepts: table.accepts });
    const a = accept(line);
    if (a !== null) table.accepts.push(a);
  }
  return out;
}

/** The filter table's built-in CHAIN of iptables-save output when its policy is DROP, with what ACCEPT maps
 *  each of the table's rules to. kvmnet's own chains are skipped: they are no admin's accepts (a network's
 *  chain accepts DHCP without naming the bridge, since its dispatch did, which would read as "any interface"). */
export function parseIptablesDrop(
  text: string,
  chain: "INPUT" | "FORWARD",
  accept: (line: string) => string | null,
): NftDrop[] {
  let table = "";
  let drop = false;
  const accepts: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1).trim();
    if (table !== "filter" || line.startsWith("-A KVMNET-")) continue;
    if (line.startsWith(`:${chain} DROP `)) drop = true;
    const a = accept(line);
    if (a !== null) accepts.push(a);
  }
  return drop ? [{ family: "ip", table: "filter", chain, accepts }] : [];
}
