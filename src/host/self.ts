// How to run this kvmnet again from elsewhere (dnsmasq's dhcp-script): the single executable, or node with the
// admin CLI's bundle beside the running one (see src/host/program-source.ts).
import { programSource } from "./program-source.js";

// POSIX shell single quoting.
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The command line that runs the kvmnet admin CLI, as shell words. */
export function kvmnetCommand(): string {
  const program = programSource()("kvmnet");
  return program === process.execPath ? quote(program) : `${quote(process.execPath)} ${quote(program)}`;
}
