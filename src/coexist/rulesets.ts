// The host's rulesets as the doctor's firewall checks read them: `nft list ruleset` and every table of
// iptables-nft and iptables-legacy (src/coexist/read-others.ts), read once per doctor run (or handed in by the
// hooks' once-only warnings), and the walkers that find base chains with policy drop in them.
import { readRulesets as observeRulesets, type Rulesets } from "./read-others.js";
import { which } from "../host/which.js";
import type { DoctorContext } from "./finding.js";
import { traits } from "../modes.js";
import type { Mode } from "../config/types.js";

export type { Rulesets };

/** True when kvmnet's firewall = iptables jumps to its own chain from the top of D (plain iptables' filter
 *  table), so its accepts come first there. D without `tool` is taken as plain iptables'. */
export function kvmnetJumpsFrom(d: NftDrop & Partial<Seen>, chain: "INPUT" | "FORWARD"): boolean {
  return d.family === "ip" && d.table === "filter" && d.chain === chain && (d.tool ?? "iptables") === "iptables";
}

/** Which tool shows a chain, and so which tool the fix must use. */
export type DropSource = "nft" | "iptables-nft" | "iptables-legacy";

/** Where a drop chain was seen: SOURCE, and TOOL, the command that edits it ("iptables" when it is the variant
 *  plain iptables, and so kvmnet's firewall = iptables, uses). */
export interface Seen {
  source: DropSource;
  tool: "nft" | "iptables" | "iptables-nft" | "iptables-legacy";
}

/** A base chain of another table with policy drop on one hook, and what its table accepts (see parseNftDrops). */
export interface NftDrop {
  family: string;
  table: string;
  chain: string;
  accepts: string[];
}

const seen = new WeakMap<DoctorContext, Rulesets>();

/** Hand CTX rulesets already read (the hooks' warnings read them once for every check). */
export function seedRulesets(ctx: DoctorContext, r: Rulesets): DoctorContext {
  seen.set(ctx, r);
  return ctx;
}

/** Read the rulesets (once per CTX; a tool not in CTX's PATH is not run). */
export function readRulesets(ctx: DoctorContext): Rulesets {
  const had = seen.get(ctx);
  if (had) return had;
  const r = observeRulesets({
    tryRun: (cmd, args, input) =>
      which(cmd, ctx.env) ? ctx.exec.tryRun(cmd, args, input) : { ok: false, code: null, stdout: "", stderr: "" },
  });
  seen.set(ctx, r);
  return r;
}

/** Read the rulesets; parse each with the given parser and return all it found, each with the tool that shows
 *  it, or null when no tool ran. A chain iptables-nft made is seen by nft and iptables-nft-save: kept once, as
 *  iptables shows it (its fix is an iptables command), with the accepts both saw. */
export function fromRulesets<T extends NftDrop>(
  ctx: DoctorContext,
  parse: { nft: (text: string) => T[]; iptables: (text: string) => T[] },
): (T & Seen)[] | null {
  const r = readRulesets(ctx);
  if (r.nft === null && r.iptables === null && r.legacy === null) return null;
  const tag = (text: string | null, f: (t: string) => T[], source: DropSource): (T & Seen)[] => {
    const tool = source === "nft" ? "nft" : source === `iptables-${r.iptablesIs}` ? "iptables" : source;
    return text === null ? [] : f(text).map((d) => ({ ...d, source, tool }));
  };
  const all = [
    ...tag(r.iptables, parse.iptables, "iptables-nft"),
    ...tag(r.legacy, parse.iptables, "iptables-legacy"),
    ...tag(r.nft, parse.nft, "nft"),
  ];
  const byKey = new Map<string, T & Seen>();
  for (const d of all) {
    // Legacy tables live apart from nf_tables: the same names there are another chain.
    const k = `${d.source === "iptables-legacy" ? "legacy " : ""}${d.family} ${d.table} ${d.chain}`;
    const had = byKey.get(k);
    byKey.set(k, had ? { ...had, accepts: [...had.accepts, ...d.accepts] } : d);
  }
  return [...byKey.values()];
}

/** The commands that insert ACCEPT rules (nft rule text RULES, iptables arguments IPT) at the top of the chain
 *  D, with the tool that shows it. */
export function insertCommands(d: NftDrop & Seen, rules: { nft: string; ipt: string }[]): string[] {
  if (d.tool === "nft") return rules.map((r) => `nft insert rule ${d.family} ${d.table} ${d.chain} ${r.nft}`);
  const t = d.table === "filter" ? "" : `-t ${d.table} `;
  return rules.map((r) => `${d.tool} ${t}-I ${d.chain} ${r.ipt} -j ACCEPT`);
}

/** The rules that let bridge BR's traffic through the forward chain D: in a bridge table the bridge is
 *  `ibrname` (`iifname` there is the port); elsewhere in and out of BR. */
export function passBridge(d: NftDrop, br: string): { nft: string; ipt: string }[] {
  if (d.family === "bridge") return [{ nft: `meta ibrname ${br} accept`, ipt: "" }];
  return [
    { nft: `iifname ${br} accept`, ipt: `-i ${br}` },
    { nft: `oifname ${br} accept`, ipt: `-o ${br}` },
  ];
}

/** The other fix, for networks that meet the IPv4 forward chain D only because br_netfilter sends their bridged
 *  frames there (a bridge's own nf_call_iptables = 0 does not help while the sysctl is 1). */
export function brNfFix(d: NftDrop, hit: { name: string; mode: Mode }[]): string {
  const bridged = hit.filter((n) => !traits(n).forwarding).map((n) => n.name);
  if (d.family === "bridge" || !bridged.length) return "";
  return `; or, as ${bridged.join(", ")} only meet${bridged.length > 1 ? "" : "s"} it through br_netfilter, sysctl -w net.bridge.bridge-nf-call-iptables=0 (unless Docker or Kubernetes on this host need it)`;
}

// Tables ufw manages (it has its chains there): their INPUT and FORWARD are judged by the ufw check, whose fix
// goes through ufw (rules added beside ufw's are lost on its next reload).
function ufwTables(text: string): Set<string> {
  const out = new Set<string>();
  let table = "";
  for (const line of text.split("\n")) {
    const t = /^table (\S+) (\S+) \{/.exec(line) ?? /^\*(\S+)/.exec(line);
    if (t) table = t[2] ? `${t[1]} ${t[2]}` : `ip ${t[1]}`;
    if (/^\s+chain ufw-user-|^:ufw-user-/.test(line)) out.add(table);
  }
  return out;
}

/** The chains on HOOK with policy drop in `nft list ruleset` output, kvmnet's own tables and ufw's excluded;
 *  every line of the table (its comment taken off) that ACCEPT maps to a string adds it to that table's accepts (an accept in any of its
 *  chains counts: admins put them in the base chain or in a chain it jumps to, such as DOCKER-USER). */
export function parseNftDrops(
  text: string,
  hook: "input" | "forward",
  accept: (line: string) => string | null,
): NftDrop[] {
  const out: NftDrop[] = [];
  const ufw = ufwTables(text);
  let table: NftDrop | null = null;
  let chain = "";
  for (const line of text.split("\n")) {
    const t = /^table (\S+) (\S+) \{/.exec(line);
    if (t) table = { family: t[1]!, table: t[2]!, chain: "", accepts: [] };
    const c = /^\s+chain (\S+) \{/.exec(line);
    if (c) chain = c[1]!;
    if (!table || /^kvmnet(-|$)/.test(table.table) || ufw.has(`${table.family} ${table.table}`)) continue;
    // firewalld's drop-all table while it starts, reloads or stops: gone a moment later (its zones are the fix).
    if (table.family === "inet" && table.table === "firewalld_policy_drop") continue;
    if (new RegExp(`\\bhook ${hook}\\b.*\\bpolicy drop;`).test(line))
      out.push({ ...table, chain, accepts: table.accepts });
    const a = accept(line.replace(/ comment "[^"]*"$/, ""));
    if (a !== null) table.accepts.push(a);
  }
  return out;
}

/** The built-in CHAIN of iptables-save output, in any table that has it (filter, mangle, security), when its
 *  policy is DROP, with what ACCEPT maps each of the table's rules to (comment taken off: kvmnet tags its own). kvmnet's own chains are skipped: they are
 *  no admin's accepts (a network's chain accepts DHCP without naming the bridge, since its dispatch did, which
 *  would read as "any interface"); so is a table ufw manages (see ufwTables). */
export function parseIptablesDrop(
  text: string,
  chain: "INPUT" | "FORWARD",
  accept: (line: string) => string | null,
): NftDrop[] {
  const ufw = ufwTables(text);
  const out: NftDrop[] = [];
  let cur: NftDrop | null = null;
  let drop = false;
  const flush = () => {
    if (cur && drop && !ufw.has(`ip ${cur.table}`)) out.push(cur);
  };
  for (const line of text.split("\n")) {
    const t = /^\*(\S+)/.exec(line);
    if (t) {
      flush();
      cur = t[1] === "nat" || t[1] === "raw" ? null : { family: "ip", table: t[1]!, chain, accepts: [] };
      drop = false;
    }
    if (!cur || line.startsWith("-A KVMNET-")) continue;
    if (line.startsWith(`:${chain} DROP `)) drop = true;
    const a = accept(line.replace(/ -m comment --comment (?:"[^"]*"|\S+)/, ""));
    if (a !== null) cur.accepts.push(a);
  }
  flush();
  return out;
}
