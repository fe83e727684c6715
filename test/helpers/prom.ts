// Checking Prometheus text exposition: Debian's python3-prometheus-client parses it (the parser Prometheus'
// own client library uses), and a strict line grammar catches what that parser forgives.
import { execa } from "execa";

/** One sample as the parser read it. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One family as the parser read it. */
export interface PromFamily {
  name: string;
  type: string;
  samples: PromSample[];
}

const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

// name{label="value",...} value: label values may hold any character but \\, " and a line feed unescaped.
const SAMPLE =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/;
const META =
  /^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$/;

/** Parse TEXT with prometheus_client (throws on what it rejects), after checking every line strictly: each
 *  line a sample, HELP or TYPE; TYPE before its samples, once per family; the text ends in a line feed. */
export async function parseExposition(text: string): Promise<PromFamily[]> {
  if (text && !text.endsWith("\n")) throw new Error("exposition does not end in a line feed");
  const typed = new Set<string>();
  for (const line of text.split("\n").slice(0, -1)) {
    if (META.test(line)) {
      const [, kind, name] = line.split(" ");
      if (kind === "TYPE") {
        if (typed.has(name!)) throw new Error(`second TYPE for ${name}`);
        typed.add(name!);
      }
      continue;
    }
    if (!SAMPLE.test(line)) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const name = line.split(/[{ ]/)[0]!;
    if (!typed.has(name)) throw new Error(`sample before its TYPE: ${line}`);
  }
  const r = await execa("/usr/bin/python3", ["-c", PARSE], { input: text });
  return JSON.parse(r.stdout) as PromFamily[];
}

/** The value of the sample NAME whose labels include LABELS (undefined when there is none). */
export function sampleValue(fams: PromFamily[], name: string, labels: Record<string, string>): number | undefined {
  for (const f of fams)
    for (const s of f.samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
  return undefined;
}
