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
  const st: State = { file, sections: new Map(), keys: [], problems: [], first: new Map(), section: "" };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const why = scanLine(st, i + 1, lines[i]!);
    if (why) return foreign(file, i + 1, why);
  }
  if (st.keys.length > 0 && !st.keys.some((k) => isKnownKey(k.key)))
    return foreign(file, st.keys[0]!.line, "no key in it is one kvmnet knows");
  return { sections: st.sections, keys: st.keys, problems: st.problems, foreign: false };
}

// What the scan has found so far, and the section it is in.
interface State {
  file: string;
  sections: Map<string, number>;
  keys: ScannedKey[];
  problems: ConfigProblem[];
  /** The line of each key seen, by section and key. */
  first: Map<string, number>;
  section: string;
}

// The scan's answer for a file that is not a kvmnet config: why, at LINE, and none of its content.
function foreign(file: string, line: number, why: string): Scan {
  return {
    sections: new Map(),
    keys: [],
    foreign: true,
    problems: [
      { file, line, key: "", message: `${why}: ${file} does not look like a kvmnet config (its content is not shown)` },
    ],
  };
}

// Scan line number LINE (RAW as read) into ST; why the file is not a kvmnet config, or null.
function scanLine(st: State, line: number, raw: string): string | null {
  // `ini` splits lines at a lone CR too: what follows it would be a key this scan never saw.
  const cr = raw.indexOf("\r");
  if (cr >= 0 && raw.slice(cr).trim() !== "") {
    st.problems.push({
      file: st.file,
      line,
      key: "",
      message:
        "a carriage return (CR) inside the line would start a new line for the INI reader: save the file with LF (or CRLF) line ends",
    });
    raw = raw.slice(0, cr);
  }
  const t = raw.trim();
  if (t === "" || t.startsWith(";") || t.startsWith("#") || scanHeader(st, line, t)) return null;
  const eq = t.indexOf("=");
  if (eq <= 0) return 'this line is neither "key = value" nor a [section] header';
  const key = t.slice(0, eq).trim();
  if (st.section === BROKEN) return null; // its keys belong to the header reported above
  if (st.section === "") {
    if (!isKnownKey(key)) return "a line before any [section] header is not a kvmnet key";
    st.problems.push({
      file: st.file,
      line,
      key,
      message: "key outside any section: put it under [global] or a [network]",
    });
    return null;
  }
  scanKey(st, line, key, t.slice(eq + 1), cr >= 0);
  return null;
}

// A `[section]` header on line LINE (T, trimmed) into ST, or one that lost its `]`; false when T is neither.
function scanHeader(st: State, line: number, t: string): boolean {
  const sec = /^\[([^\]]*)\]\s*([;#].*)?$/.exec(t);
  if (sec) {
    st.section = sec[1]!.trim();
    const first = st.sections.get(st.section);
    if (first !== undefined)
      st.problems.push({
        file: st.file,
        line,
        key: `[${st.section}]`,
        message: `section repeated (first at line ${first})`,
      });
    else st.sections.set(st.section, line);
    return true;
  }
  // `[nat0` (a header that lost its `]`): said as such, with the line, not taken for a foreign file.
  if (t.includes("=") || !/^\[[A-Za-z0-9_.@-]+\s*([;#].*)?$/.test(t)) return false;
  st.problems.push({
    file: st.file,
    line,
    key: "",
    message: `${show(t)}: a [section] header without its closing "]": write [${t.slice(1).replace(/\s*([;#].*)?$/, "")}]`,
  });
  st.section = BROKEN;
  return true;
}

// KEY = VALUE (as written after "=") on line LINE into ST: a key name, once per section. CR: the line held one.
function scanKey(st: State, line: number, key: string, value: string, cr: boolean): void {
  const { file, section } = st;
  if (!KEY.test(key) || key === "__proto__") {
    st.problems.push({ file, line, key: show(key), message: "not a key name (letters, digits, _ . - only)" });
    return;
  }
  const id = `${section}\0${key}`;
  const first = st.first.get(id);
  if (first !== undefined) {
    st.problems.push({ file, line, key, message: `key repeated in [${section}] (first at line ${first})` });
    return;
  }
  st.first.set(id, line);
  st.keys.push({ section, key, line, value: literalValue(value), ...(cr ? { cr: true } : {}) });
}

/** Rewrite section headers for `ini`: escape dots so `[lab.x]` stays one section instead of nesting, and
 *  drop a comment after the header (`[global] ; optional`), which `ini` would misread. */
export function normaliseSections(text: string): string {
  return text.replace(
    /^\s*\[([^\]]*)\]\s*([;#].*)?$/gm,
    (_m, name: string) => `[${name.trim().replace(/\./g, "\\.")}]`,
  );
}
