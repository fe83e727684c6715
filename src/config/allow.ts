// Validation of `allow_users` and `allow_groups`: who, besides root, may put a VM on a network through
// kvmnet-userd (src/cli/userd/). Names are checked for their form here; whether such a user or group exists is
// asked of the host when someone asks for a tap (a user made later is allowed without touching the config).
import type { Allow } from "./types.js";
import { show } from "./value.js";

// What useradd/groupadd accept by default (Debian's NAME_REGEX), or a numeric id.
const NAME = /^([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})$/;

/** The network's allow list from VALUES, or undefined when neither key is set (root only). */
export function validateAllow(
  values: Record<string, string>,
  bad: (key: string, message: string) => void,
): Allow | undefined {
  if (values.allow_users === undefined && values.allow_groups === undefined) return undefined;
  const list = (key: "allow_users" | "allow_groups"): string[] => {
    const text = values[key];
    if (text === undefined) return [];
    const names = text
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const what = key === "allow_users" ? "user" : "group";
    const wrong = names.find((n) => !NAME.test(n));
    if (wrong !== undefined) bad(key, `${show(wrong)} is not a ${what} name (such as alice) or a numeric id`);
    else if (names.length === 0) bad(key, `is empty: list ${what} names, such as ${key} = alice, bob`);
    else if (names.length > 256) bad(key, `lists ${names.length} names, at most 256 (use allow_groups for more)`);
    return names;
  };
  return { users: list("allow_users"), groups: list("allow_groups") };
}
