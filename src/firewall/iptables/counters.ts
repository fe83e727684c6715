// The iptables backend's counters, read for `kvmnet metrics` (never on a hook's path): the per-rule counters of
// kvmnet's chains (one `iptables-save -c`), summed into the same five per network as nft's named counters.
import type { Network } from "../../config/types.js";
import { CommandError } from "../../errors.js";
import type { Exec } from "../../host/exec.js";
import { iptablesChains } from "../../core/names.js";
import type { RuleCounts } from "../backend-types.js";

const zero = (): RuleCounts => ({
  from: { packets: 0, bytes: 0 },
  to: { packets: 0, bytes: 0 },
  cross: { packets: 0, bytes: 0 },
  nat: { packets: 0, bytes: 0 },
  reject: { packets: 0, bytes: 0 },
});

// An `iptables-save -c` rule line: `[PACKETS:BYTES] -A CHAIN ... -j TARGET ...`.
const RULE = /^\[(\d+):(\d+)\] -A (\S+) (?:.* )?-j (\S+)/;

/** NET's counters summed from `iptables-save -c` TEXT (chains KVMNET-FWO-NET, -FWI-NET, -PRT-NET); null when its
 *  chains are not there. */
export function iptablesRuleCounts(net: Network, text: string): RuleCounts | null {
  const c = iptablesChains(net);
  const out = zero();
  let seen = false;
  for (const line of text.split("\n")) {
    const m = RULE.exec(line);
    if (!m) continue;
    const [, p, b, chain, target] = m;
    const kind = ruleKind(net, chain!, target!, line);
    if (chain === c.forwardOut || chain === c.forwardIn || chain === c.postrouting) seen = true;
    if (!kind) continue;
    out[kind].packets += Number(p);
    out[kind].bytes += Number(b);
  }
  return seen ? out : null;
}

// Which of NET's counters the rule LINE (in CHAIN, jumping to TARGET) counts into, if any. In the forward-out
// chain an accept with `-o BRIDGE` is the bridge to itself.
function ruleKind(net: Network, chain: string, target: string, line: string): keyof RuleCounts | null {
  const c = iptablesChains(net);
  if (chain === c.postrouting) return target === "MASQUERADE" || target === "SNAT" ? "nat" : null;
  if (chain !== c.forwardOut && chain !== c.forwardIn) return null;
  if (target === "REJECT") return "reject";
  if (chain === c.forwardIn) return "to";
  return line.includes(` -o ${net.bridge} `) ? "cross" : "from";
}

/** Read the counters of every network in NETS: one process. */
export function readIptablesCounts(exec: Exec, nets: Network[]): Map<string, RuleCounts | null> {
  const r = exec.tryRun("iptables-save", ["-c"]);
  if (!r.ok) throw new CommandError("iptables-save -c", r.code, r.stderr);
  return new Map(nets.map((net) => [net.name, iptablesRuleCounts(net, r.stdout)]));
}
