// Interface names: what the kernel accepts and what kvmnet allows in its config.

/** Longest interface name the kernel accepts (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

/** Why NAME is not a usable interface or network name, or null when it is fine. */
export function badName(name: string): string | null {
  if (name.length === 0) return "is empty";
  if (name.length > IFNAME_MAX) return `"${name}" is ${name.length} characters, at most ${IFNAME_MAX} are allowed`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return `"${name}" has characters outside [A-Za-z0-9_.-]`;
  if (name === "." || name === "..") return `"${name}" is not a valid name`;
  return null;
}

/** Split a program name as run (`qemu-natup@lab`, `qemu-natup.cjs`) into the program and the `@NET` suffix. */
export function splitProgramName(runAs: string): { program: string; net?: string } {
  const base = runAs.replace(/\.(c?js|mjs)$/, "");
  const at = base.indexOf("@");
  if (at < 0) return { program: base };
  return { program: base.slice(0, at), net: base.slice(at + 1) };
}
