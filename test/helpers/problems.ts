// Config problems of a text as "LINE: KEY: message" lines, for table tests of validation.
import { parseConfig } from "../../src/config/validate.js";
import { ConfigError } from "../../src/errors.js";

/** Every problem parseConfig finds in TEXT; [] when it is valid. */
export function problems(text: string): string[] {
  try {
    parseConfig("/etc/kvmnet.conf", text);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.line}: ${p.key}: ${p.message}`);
  }
}
