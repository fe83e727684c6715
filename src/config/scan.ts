// Line scanner for the INI file: where each section and key is, and which lines are malformed or repeated.
// `ini` gives the values but not their lines; error messages need FILE:LINE, so this finds them.
import type { ConfigProblem } from "../errors.js";

/** A key as written: its section, line and raw text after "=". */
export interface ScannedKey {
  section: string;
  key: string;
  line: number;
}

/** Where things are in the file. */
export interface Scan {
  sections: Map<string, number>;
  keys: ScannedKey[];
  problems: ConfigProblem[];
}

/** Scan TEXT (from FILE) for sections, keys and lines that are not INI. */
export function scanIni(file: string, text: string): Scan {
  const sections = new Map<string, number>();
  const keys: ScannedKey[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  let section = "";
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === "" || t.startsWith(";") || t.startsWith("#")) return;
    const sec = /^\[([^\]]*)\]\s*([;#].*)?$/.exec(t);
    if (sec) {
      section = sec[1]!.trim();
      if (sections.has(section)) {
        problems.push({ file, line, key: `[${section}]`, message: `section repeated (first at line ${sections.get(section)})` });
      } else sections.set(section, line);
      return;
    }
    const kv = /^([^=]+?)\s*=/.exec(t);
    if (!kv) {
      problems.push({ file, line, key: t.slice(0, 40), message: 'not a "key = value" line or a [section] header' });
      return;
    }
    const key = kv[1]!;
    if (section === "") {
      problems.push({ file, line, key, message: "key outside any section: put it under [global] or a [network]" });
      return;
    }
    const id = `${section}\0${key}`;
    if (seen.has(id)) {
      const first = keys.find((k) => k.section === section && k.key === key)!;
      problems.push({ file, line, key, message: `key repeated in [${section}] (first at line ${first.line})` });
      return;
    }
    seen.add(id);
    keys.push({ section, key, line });
  });
  return { sections, keys, problems };
}

/** Rewrite section headers for `ini`: escape dots so `[lab.x]` stays one section instead of nesting, and
 *  drop a comment after the header (`[global] ; optional`), which `ini` would misread. */
export function normaliseSections(text: string): string {
  return text.replace(/^\s*\[([^\]]*)\]\s*([;#].*)?$/gm, (_m, name: string) => `[${name.trim().replace(/\./g, "\\.")}]`);
}
