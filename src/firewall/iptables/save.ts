// Reading `iptables-save` output back: per table, the chains it declares and each chain's `-A` lines.

/** One table of iptables-save output. */
export interface IptSaveTable {
  /** Every chain declared (built-in or user), in order. */
  declared: string[];
  /** Chain → its rules, as printed (`-A CHAIN ...`). */
  rules: Record<string, string[]>;
}

/** iptables-save output, per table. */
export type IptSave = Record<string, IptSaveTable>;

/** Parse iptables-save output. */
export function parseIptablesSave(text: string): IptSave {
  const out: IptSave = {};
  let cur: IptSaveTable | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) {
      cur = out[line.slice(1).trim()] = { declared: [], rules: {} };
      continue;
    }
    if (!cur) continue;
    const decl = /^:(\S+) /.exec(line);
    if (decl) cur.declared.push(decl[1]!);
    const rule = /^-A (\S+) /.exec(line);
    if (rule) (cur.rules[rule[1]!] ??= []).push(line);
  }
  return out;
}

/** The target of each rule of TABLE's CHAIN, in order ("" for a rule that is not a plain `-j CHAIN`). */
export function jumpTargets(save: IptSave, table: string, chain: string): string[] {
  return (save[table]?.rules[chain] ?? []).map((l) => new RegExp(`^-A ${chain} -j (\\S+)$`).exec(l)?.[1] ?? "");
}
