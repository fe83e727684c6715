// dnsmasq's lease events for the guard (`guard = yes`): dnsmasq runs its dhcp-script, STATE_DIR/NET.lease-event,
// which runs `kvmnet add|old|del MAC IP [HOSTNAME]` as root with DNSMASQ_* in the environment. kvmnet then lets
// the guest with MAC send from IP (add, old: a lease granted, renewed, or read back at dnsmasq's start), or no
// longer (del: released or expired), and keeps the pair in the network's lease record in state_dir. Like every
// program: observe (the record), decide (src/decide/guard-lease.ts), apply. One dnsmasq runs its script once at a
// time, so the record has one writer.
import { applySteps } from "../apply/apply.js";
import { leaseEventSteps, parseLeaseEvent } from "../decide/guard-lease.js";
import { CommandError, KvmnetError } from "../errors.js";
import { realExec, type Exec } from "../host/exec.js";
import { observeLeaseRecord, type LeaseRecord } from "../observe/guard-state.js";
import { configFrom } from "./networks.js";

/** True when kvmnet was run by dnsmasq as a dhcp-script with ARGS. */
export function isLeaseEvent(args: string[], env: NodeJS.ProcessEnv): boolean {
  return env.DNSMASQ_INTERFACE !== undefined && ["add", "old", "del"].includes(args[0] ?? "");
}

/** Handle one lease event; exit 0 (dnsmasq ignores the status, and an IPv6 or other event is none of ours). */
export async function runLeaseEvent(args: string[], env: NodeJS.ProcessEnv, exec: Exec = realExec): Promise<number> {
  const ev = parseLeaseEvent(args, env);
  if (!ev) return 0;
  const say = (what: string) => process.stderr.write(`kvmnet: lease event ${ev.action} ${ev.mac} ${ev.ip}: ${what}\n`);
  // A config that cannot be read still lets the set learn the pair (the table is kvmnet's, whatever the network).
  let record: LeaseRecord | null = null;
  let unreadable: KvmnetError | null = null;
  try {
    record = observeLeaseRecord(configFrom(env), env.DNSMASQ_INTERFACE ?? "");
  } catch (e) {
    if (!(e instanceof KvmnetError)) throw e;
    unreadable = e;
  }
  // Each step on its own: the set learns the pair even when the record cannot be written, and the other way round.
  let failed = false;
  for (const s of leaseEventSteps(ev, record)) {
    try {
      applySteps(exec, [s]);
    } catch (e) {
      if (!(e instanceof KvmnetError)) throw e;
      failed = true;
      if (s.kind === "write") say(`not recorded: ${e.message}`);
      else say(e instanceof CommandError ? e.stderr.trim() : e.message);
    }
  }
  if (unreadable) say(`not recorded: ${unreadable.message}`);
  return failed || unreadable ? 1 : 0;
}
