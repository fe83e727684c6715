// Interface names: what the kernel accepts and what kvmnet allows in its config.

/** Longest interface name the kernel accepts (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

/** Names the kernel refuses for an interface (EINVAL): they are the per-family settings directories
 *  /proc/sys/net/ipv{4,6}/conf/{all,default}. (`ip` takes every other valid name, keywords such as `help`,
 *  `dev`, `up` or `master` included, in the forms kvmnet runs: checked with iproute2 6.1.) */
export const RESERVED_NAMES: readonly string[] = ["all", "default"];

/** Why NAME is not a usable interface name (bridge, NIC, TAP), or null when it is fine. */
export function badName(name: string): string | null {
  const why = badNetworkName(name);
  if (why) return why;
  if (RESERVED_NAMES.includes(name))
    return `${JSON.stringify(name)} is reserved by the kernel (/proc/sys/net/ipv4/conf/${name} holds settings for every interface): choose another name`;
  return null;
}

/** Why NAME is not a usable network (section) name, or null: an interface name's rules, where the kernel's
 *  reserved names are fine (`[default]` names no interface). */
export function badNetworkName(name: string): string | null {
  const q = JSON.stringify(name);
  if (name.length === 0) return "is empty";
  if (name.length > IFNAME_MAX) return `${q} is ${name.length} characters, at most ${IFNAME_MAX} are allowed`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return `${q} has characters outside [A-Za-z0-9_.-]`;
  if (name === "." || name === "..") return `${q} is not a valid name`;
  return null;
}

/** Split a program name as run (`qemu-natup@lab`, `qemu-natup.cjs`) into the program and the `@NET` suffix. */
export function splitProgramName(runAs: string): { program: string; net?: string } {
  const base = runAs.replace(/\.(c?js|mjs)$/, "");
  const at = base.indexOf("@");
  if (at < 0) return { program: base };
  return { program: base.slice(0, at), net: base.slice(at + 1) };
}
