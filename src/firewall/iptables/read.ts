// Reading kvmnet's iptables chains: one iptables-save shows every table.
import { CommandError } from "../../errors.js";
import type { Exec } from "../../host/exec.js";
import { parseIptablesSave, type IptSave } from "./save.js";

/** One iptables-save. REQUIRED: a failure is an error (else, for the other backend's leftovers: null). */
export function lookIptables(exec: Exec, required: boolean): IptSave | null {
  const r = exec.tryRun("iptables-save", []);
  if (r.ok) return parseIptablesSave(r.stdout);
  if (required) throw new CommandError("iptables-save", r.code, r.stderr);
  return null;
}
