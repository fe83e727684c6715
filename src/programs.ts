// The programs kvmnet installs: which network modes each serves and whether it brings a TAP up or down.
import type { Mode } from "./config/types.js";

/** Names of the QEMU hook programs. */
export type HookName =
  "qemu-natup" | "qemu-natdown" | "qemu-ifup-bridge" | "qemu-ifup-isolated" | "qemu-ifup" | "qemu-ifdown";

/** What a hook program does. */
export interface HookSpec {
  modes: readonly Mode[] | "any";
  action: "up" | "down";
}

/** Every hook program and its spec. */
export const HOOKS: Record<HookName, HookSpec> = {
  "qemu-natup": { modes: ["nat"], action: "up" },
  "qemu-natdown": { modes: ["nat"], action: "down" },
  "qemu-ifup-bridge": { modes: ["bridge"], action: "up" },
  "qemu-ifup-isolated": { modes: ["isolated", "host-only"], action: "up" },
  "qemu-ifup": { modes: "any", action: "up" },
  "qemu-ifdown": { modes: "any", action: "down" },
};

/** All program names a multi-call binary answers to. */
export const PROGRAM_NAMES = [...Object.keys(HOOKS), "kvmnet"] as const;

/** True when NAME is one of the hook programs. */
export function isHook(name: string): name is HookName {
  return Object.hasOwn(HOOKS, name);
}

/** True when PROGRAM serves networks of MODE. */
export function serves(program: HookName, mode: Mode): boolean {
  const m = HOOKS[program].modes;
  return m === "any" || m.includes(mode);
}

/** The specific up-program for MODE (the one to name in a "wrong program" error). */
export function upProgramFor(mode: Mode): HookName {
  switch (mode) {
    case "nat":
      return "qemu-natup";
    case "bridge":
      return "qemu-ifup-bridge";
    case "isolated":
    case "host-only":
      return "qemu-ifup-isolated";
    case "routed":
      return "qemu-ifup";
  }
}
