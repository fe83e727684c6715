// The programs kvmnet installs: whether each brings a TAP up or down (which network modes each serves is in the
// modes' traits table, modes.ts).

/** Names of the QEMU hook programs. */
export type HookName =
  "qemu-natup" | "qemu-natdown" | "qemu-ifup-bridge" | "qemu-ifup-isolated" | "qemu-ifup" | "qemu-ifdown";

/** What a hook program does. GENERIC: it serves every mode; the others serve the modes listing them in TRAITS. */
export interface HookSpec {
  action: "up" | "down";
  generic: boolean;
}

/** Every hook program and its spec. */
export const HOOKS: Record<HookName, HookSpec> = {
  "qemu-natup": { action: "up", generic: false },
  "qemu-natdown": { action: "down", generic: false },
  "qemu-ifup-bridge": { action: "up", generic: false },
  "qemu-ifup-isolated": { action: "up", generic: false },
  "qemu-ifup": { action: "up", generic: true },
  "qemu-ifdown": { action: "down", generic: true },
};

/** Programs that are verbs of the admin CLI under a name of their own (src/cli/userd/). */
export const CLI_PROGRAMS: Record<string, string> = { "kvmnet-userd": "userd", "kvmnet-qemu": "qemu" };

/** All program names a multi-call binary answers to. */
export const PROGRAM_NAMES = [...Object.keys(HOOKS), "kvmnet", ...Object.keys(CLI_PROGRAMS)] as const;

/** True when NAME is one of the hook programs. */
export function isHook(name: string): name is HookName {
  return Object.hasOwn(HOOKS, name);
}
