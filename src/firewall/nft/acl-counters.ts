// The counters of kvmnet's firewall rules (ACLs), read for `kvmnet metrics` (never on a hook's path): one
// `nft -j list counters table inet kvmnet` for every network, each rule's named counter picked out of it.
import type { Network } from "../../config/types.js";
import { CommandError } from "../../errors.js";
import { showCommand, type Exec } from "../../host/exec.js";
import { NFT_TABLE } from "../../core/names.js";
import { aclCounters } from "./acl-rules.js";
import { parseNftCounters } from "./counters.js";
import type { Count } from "../backend-types.js";

/** Per network with rules: each rule's key ("allow_in.ssh", and "in-other"/"out-other") → its count; a rule
 *  whose counter is missing (the network is not up) is left out. */
export function readAclCounts(exec: Exec, nets: Network[]): Map<string, Record<string, Count>> {
  const out = new Map<string, Record<string, Count>>();
  const withRules = nets.filter((n) => n.acl?.length);
  if (!withRules.length) return out;
  const args = ["-j", "list", "counters", "table", "inet", NFT_TABLE];
  const r = exec.tryRun("nft", args);
  // No table: no network is up (nft says "No such file or directory").
  if (!r.ok && /No such file or directory/.test(r.stderr)) return out;
  if (!r.ok) throw new CommandError(showCommand("nft", args), r.code, r.stderr);
  const found = parseNftCounters(r.stdout);
  for (const net of withRules) {
    const counts: Record<string, Count> = {};
    for (const [key, name] of Object.entries(aclCounters(net))) {
      const c = found.get(name);
      if (c) counts[key] = c;
    }
    out.set(net.name, counts);
  }
  return out;
}
