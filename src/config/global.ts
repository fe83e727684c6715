// Validation of `[global]`: the firewall backend and the two directories kvmnet writes into.
import { posix } from "node:path";
import { GLOBAL_KEYS, suggestKey } from "./keys.js";
import { FIREWALLS, type Config, type Firewall } from "./types.js";
import { show } from "./value.js";

/** Apply `[global]` VALUES to CONFIG; each problem is passed to BAD with its key. */
export function validateGlobal(
  values: Record<string, string>,
  config: Config,
  bad: (key: string, message: string) => void,
): void {
  for (const [key, value] of Object.entries(values)) {
    if (key === "firewall") {
      if ((FIREWALLS as readonly string[]).includes(value)) config.firewall = value as Firewall;
      else bad(key, `${show(value)} is not ${FIREWALLS.join(" or ")}`);
    } else if (key === "state_dir" || key === "lease_dir") {
      const why = badPath(value);
      if (why) bad(key, why);
      else config[key === "state_dir" ? "stateDir" : "leaseDir"] = value.replace(/(.)\/+$/, "$1");
    } else {
      const hint = suggestKey(key, GLOBAL_KEYS);
      bad(key, `unknown key in [global]${hint ? `; did you mean ${hint}?` : ""}`);
    }
  }
}

/** Why PATH is not a directory path kvmnet can use as written, or null. It is written into dnsmasq's config
 *  and joined with file names, so it must mean exactly one directory, read the same way by every reader. */
export function badPath(path: string): string | null {
  if (!path.startsWith("/")) return `${show(path)} is not an absolute path`;
  if (path.trim() !== path) return `${show(path)} has white space at an end`;
  if (path.split("/").includes("..")) return `${show(path)} has a ".." component: name the directory itself`;
  const trimmed = path.replace(/(.)\/+$/, "$1");
  const normal = posix.normalize(trimmed);
  if (normal !== trimmed) return `${show(path)} is not in normal form: write ${normal}`;
  // dnsmasq's config reader removes double quotes, takes backslash escapes and starts a comment at " #".
  if (/["\\#]/.test(path)) return `${show(path)} holds a character dnsmasq's config reads differently (" \\ #)`;
  return null;
}
