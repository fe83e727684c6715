// What a `key = value` line holds, as the admin wrote it: the comment and the quotes around it removed,
// nothing decoded. `ini` decodes more (JSON in quotes, true/false/null, `\;`): a value is taken only when
// `ini` reads it the same way, so no escape can smuggle a newline (a dnsmasq directive) into a value.

/** A value as written, and why it cannot be taken as written (VALUE is then the whole text after "="). */
export interface Literal {
  value: string;
  error?: string;
}

/** The value after "=" on a line (RAW, untrimmed): `"…"`/`'…'` around it are removed; outside quotes, `;` or
 *  `#` after a space starts a comment. Nothing else is decoded. */
export function literalValue(raw: string): Literal {
  const t = raw.trim();
  const q = t[0];
  if ((q === '"' || q === "'") && t.length > 1 && t.endsWith(q)) return { value: t.slice(1, -1) };
  const at = t.search(/[;#]/);
  if (at < 0) return { value: t };
  if (at > 0 && !/\s/.test(t[at - 1]!)) {
    return {
      value: t,
      error: `${show(t[at]!)} inside a value starts a comment there (${show(t.slice(0, at))} would be read): put a space before a comment, or quote the value`,
    };
  }
  const value = t.slice(0, at).trim();
  if (value[0] === '"' || value[0] === "'")
    return {
      value: t,
      error:
        "a quoted value cannot be followed by a comment (the quotes would be kept): put the comment on a line of its own",
    };
  return { value };
}

/** Why the value `ini` decoded (DECODED) is not the value as written (WRITTEN), or null when they agree. */
export function disagreement(written: string, decoded: unknown): string | null {
  if (
    typeof decoded === "string"
      ? decoded === written
      : (typeof decoded === "boolean" || typeof decoded === "number" || decoded === null) && String(decoded) === written
  )
    return null;
  if (typeof decoded === "string" && controlChar(decoded) !== null) {
    return `the quoted value would decode to a control character (${controlChar(decoded)}): escapes are not taken in values, write the value plainly`;
  }
  if (decoded === undefined)
    return "the INI reader drops this line (a name it keeps for itself): rename the section or key";
  if (written.includes("\\"))
    return `${show(written)}: backslash escapes are not taken in values (the value would be read as ${describe(decoded)}); write it plainly`;
  return `${show(written)} would be read as ${describe(decoded)}: write the value plainly, without inner quotes or brackets`;
}

/** The first control character in TEXT (C0 U+0000..U+001F, DEL, and C1 U+0080..U+009F, which some terminals
 *  obey) as `U+000A`, or null when there is none. */
export function controlChar(text: string): string | null {
  const m = /[\u0000-\u001f\u007f-\u009f]/.exec(text);
  return m ? `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}` : null;
}

/** TEXT in double quotes, control characters, quotes and backslashes escaped, for messages. */
export function show(text: string): string {
  return JSON.stringify(text);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === "object" && v !== null) return "an object";
  return show(String(v));
}
