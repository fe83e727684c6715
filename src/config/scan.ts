// Line scanner for the INI file: where each section and key is, its value as written, and which lines are
// malformed or repeated. `ini` gives values but not their lines; error messages need FILE:LINE, so this
// finds them. A file that is not INI is not a kvmnet config: the scan stops there and shows none of it.
import type { ConfigProblem } from "../errors.js";
import { GLOBAL_KEYS, NETWORK_KEYS, specName } from "./keys.js";
import { literalValue, show, type Literal } from "./value.js";

/** A key as written: its section, line and value (or why the value cannot be taken as written). */
export interface ScannedKey {
  section: string;
  key: string;
  line: number;
  value: Literal;
  /** The line holds a lone CR (already reported): its value is not compared with what `ini` read. */
  cr?: boolean;
}

/** Where things are in the file. */
export interface Scan {
  sections: Map<string, number>;
  keys: ScannedKey[];
  problems: ConfigProblem[];
  /** True when the file does not look like a kvmnet config: `problems` then holds only that, with no content. */
  foreign: boolean;
}

const KEY = /^[A-Za-z0-9_.-]+$/;
// The section of the keys under a broken header: no section name can hold a NUL.
const BROKEN = "\0broken";

/** True when KEY is one kvmnet knows (in [global] or a network). */
export function isKnownKey(key: string): boolean {
  return (GLOBAL_KEYS as readonly string[]).includes(key) || Object.hasOwn(NETWORK_KEYS, specName(key));
}

/** Scan TEXT (from FILE) for sections, keys and lines that are not INI. */
export function scanIni(file: string, text: string): Scan {
  const sections = new Map<string, number>();
  const keys: ScannedKey[] = [];
  const problems: ConfigProblem[] = [];
  const first = new Map<string, number>();
  const foreign = (line: number, why: string): Scan => ({
    sections: new Map(),
    keys: [],
    foreign: true,
    problems: [
      { file, line, key: "", message: `${why}: ${file} does not look like a kvmnet config (its content is not shown)` },
    ],
  });
  let section = "";
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let raw = lines[i]!;
    // `ini` splits lines at a lone CR too: what follows it would be a key this scan never saw.
    const cr = raw.indexOf("\r");
    if (cr >= 0 && raw.slice(cr).trim() !== "") {
      problems.push({
        file,
        line,
        key: "",
        message:
          "a carriage return (CR) inside the line would start a new line for the INI reader: save the file with LF (or CRLF) line ends",
      });
      raw = raw.slice(0, cr);
    }
    const t = raw.trim();
    if (t === "" || t.startsWith(";") || t.startsWith("#")) continue;
    const sec = /^\[([^\]]*)\]\s*([;#].*)?$/.exec(t);
    if (sec) {
      section = sec[1]!.trim();
      if (sections.has(section)) {
        problems.push({
          file,
          line,
          key: `[${section}]`,
          message: `section repeated (first at line ${sections.get(section)})`,
        });
      } else sections.set(section, line);
      continue;
    }
    const eq = t.indexOf("=");
    // `[nat0` (a header that lost its `]`): said as such, with the line, not taken for a foreign file.
    if (eq < 0 && /^\[[A-Za-z0-9_.@-]+\s*([;#].*)?$/.test(t)) {
      problems.push({
        file,
        line,
        key: "",
        message: `${show(t)}: a [section] header without its closing "]": write [${t.slice(1).replace(/\s*([;#].*)?$/, "")}]`,
      });
      section = BROKEN;
      continue;
    }
    if (eq <= 0) return foreign(line, 'this line is neither "key = value" nor a [section] header');
    const key = t.slice(0, eq).trim();
    if (section === BROKEN) continue; // its keys belong to the header reported above
    if (section === "") {
      if (!isKnownKey(key)) return foreign(line, "a line before any [section] header is not a kvmnet key");
      problems.push({ file, line, key, message: "key outside any section: put it under [global] or a [network]" });
      continue;
    }
    if (!KEY.test(key) || key === "__proto__") {
      problems.push({ file, line, key: show(key), message: "not a key name (letters, digits, _ . - only)" });
      continue;
    }
    const id = `${section}\0${key}`;
    if (first.has(id)) {
      problems.push({ file, line, key, message: `key repeated in [${section}] (first at line ${first.get(id)})` });
      continue;
    }
    first.set(id, line);
    keys.push({ section, key, line, value: literalValue(t.slice(eq + 1)), ...(cr >= 0 ? { cr: true } : {}) });
  }
  if (keys.length > 0 && !keys.some((k) => isKnownKey(k.key)))
    return foreign(keys[0]!.line, "no key in it is one kvmnet knows");
  return { sections, keys, problems, foreign: false };
}

/** Rewrite section headers for `ini`: escape dots so `[lab.x]` stays one section instead of nesting, and
 *  drop a comment after the header (`[global] ; optional`), which `ini` would misread. */
export function normaliseSections(text: string): string {
  return text.replace(
    /^\s*\[([^\]]*)\]\s*([;#].*)?$/gm,
    (_m, name: string) => `[${name.trim().replace(/\./g, "\\.")}]`,
  );
}
