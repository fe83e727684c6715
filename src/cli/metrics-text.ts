// The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile collector and a Prometheus
// scrape read it: per family `# HELP`, `# TYPE`, then one line per sample, `NAME{LABEL="VALUE",...} NUMBER`.

/** One metric family: its samples share NAME, HELP and TYPE. */
export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: { labels: Record<string, string>; value: number }[];
}

/** The content type of the text format. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value in quotes: backslash, double quote and line feed escaped (the only escapes the format has). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

// HELP text escapes backslash and line feed only.
const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function number(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

/** FAMILIES as exposition text; a family without samples is left out. Throws on an invalid metric or label name
 *  (a bug, never input). */
export function exposition(families: Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${f.name}`);
    if (!f.samples.length) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => {
        if (!LABEL.test(k) || k.startsWith("__")) throw new Error(`invalid label name ${k}`);
        return `${k}="${escapeLabel(v)}"`;
      });
      lines.push(`${f.name}${labels.length ? `{${labels.join(",")}}` : ""} ${number(s.value)}`);
    }
  }
  return lines.map((l) => l + "\n").join("");
}
