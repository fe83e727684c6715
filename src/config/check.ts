// What a network key's validator gets and gives: the section being validated, and the fields it sets.
import type { ModeTraits } from "../modes.js";
import type { Draft } from "./draft.js";
import type { Mode } from "./types.js";

/** The section a validator looks at. */
export interface CheckContext {
  /** The section's name. */
  name: string;
  /** The mode as written: undefined when it is missing or not a mode (reported already). */
  mode: Mode | undefined;
  /** The traits the section is validated with: its mode's (see network.ts for a section without a mode). */
  traits: ModeTraits;
  /** Every key of the section as written (with its [NET@HOSTNAME] overrides for this host). */
  values: Record<string, string>;
  /** The network so far: what the validators before this one set. */
  net: Draft;
  /** Report a problem with KEY (at its line, or the section's when the key is not set). */
  bad: (key: string, message: string) => void;
}

/** A validator: checks its keys' values in C (problems to C.bad) and returns the fields they give the network. */
export type Check = (c: CheckContext) => Partial<Draft> | void;

/** One row of the validators' table: the keys a validator checks, and the validator. */
export interface NetworkCheck {
  /** Its keys, as NETWORK_KEYS names them: it runs for a mode that takes them (they need the same trait). */
  keys: readonly string[];
  /** It runs in every mode: a value is checked even where the mode refuses the key (both are reported). */
  anyMode?: true;
  check: Check;
}
