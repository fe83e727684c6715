// The addresses guests were seen using on a bridge: the host's neighbour table of the bridge (ARP and IPv6
// neighbour discovery), one `ip -json neigh show dev BR` for both families. /proc has only the IPv4 table.
import { CommandError } from "../errors.js";
import { showCommand, type Exec } from "../host/exec.js";

/** One neighbour entry with a link-layer address. */
export interface Neighbour {
  ip: string;
  mac: string;
  /** The kernel's NUD state words, e.g. ["REACHABLE"] or ["STALE"]. */
  state: string[];
}

/** Parse `ip -json neigh show dev BR`; entries without a link-layer address (FAILED, INCOMPLETE) are left out. */
export function parseNeighbours(json: string): Neighbour[] {
  const list = JSON.parse(json.trim() || "[]") as { dst?: string; lladdr?: string; state?: string[] }[];
  return list.flatMap((n) =>
    n.dst && n.lladdr ? [{ ip: n.dst.toLowerCase(), mac: n.lladdr.toLowerCase(), state: n.state ?? [] }] : [],
  );
}

/** The neighbours on BRIDGE (which must exist). */
export function readNeighbours(exec: Exec, bridge: string): Neighbour[] {
  const args = ["-json", "neigh", "show", "dev", bridge];
  const r = exec.tryRun("ip", args);
  if (!r.ok) throw new CommandError(showCommand("ip", args), r.code, r.stderr);
  return parseNeighbours(r.stdout);
}
