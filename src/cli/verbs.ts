// The admin CLI `kvmnet`: one subcommand per verb, each in its own file; this only dispatches.
import { UsageError } from "../errors.js";
import { runCheck } from "./check.js";
import { isLeaseEvent, runLeaseEvent } from "./lease-event.js";
import { runDoctor } from "./doctor.js";
import { runPlan } from "./plan.js";
import { runStatus } from "./status-cmd.js";
import { runDown, runUp } from "./updown.js";
import { runReapply, runWatch } from "./watch.js";

const USAGE = `usage: kvmnet COMMAND [ARGS] [--help]

Host networking for KVM/QEMU guests; the QEMU hooks (qemu-natup, qemu-ifup, ...) do the same work per VM.

  status [NET] [--json]            bridges, their taps, addresses, uplink, rules, dnsmasq, DHCP leases
  up NET | --all | --autostart     bring networks up without a VM
  down NET | --all [--force]       remove what kvmnet made for a network (leases are kept)
  check [FILE] [--json]            validate the config, listing every problem (exit 0 or 2)
  plan NET [--json]                what \`up NET\` would do, with its rules and dnsmasq config; changes nothing
  doctor [--json]                  host prerequisites and known conflicts, each with its fix
  install [...]                    install the hooks and config (see kvmnet install --help)
  leases [NET] [--json]            guests: static and DHCP leases, the tap each sits on, IPv6 addresses seen
  metrics [--listen ADDR:PORT]     Prometheus metrics: traffic per bridge and tap, leases, rule counters
  reapply                          converge the networks that are up (after a firewall reload)
  watch                            reapply on every ruleset or link change (nft monitor, ip monitor)
  userd [--listen PATH]            the service that gives allowed users taps (also run as kvmnet-userd)
  qemu [--network NET] -- QEMU ... run QEMU as yourself on a network (also run as kvmnet-qemu)

  --version, -V                    print kvmnet's version

Config: $KVMNET_CONFIG, else /etc/kvmnet.conf. Run as kvmnet@NET, NET is the default network.
Exit codes: 0 done; 1 a system command failed (doctor: a problem found); 2 usage or configuration error.`;

type Command = (args: string[], env: NodeJS.ProcessEnv, suffixNet?: string) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  status: runStatus,
  up: runUp,
  down: runDown,
  check: (a, e) => runCheck(a, e),
  plan: runPlan,
  doctor: (a, e) => runDoctor(a, e),
  install: async (a, e) => (await import("./install.js")).runInstall(a, e),
  leases: async (a, e, s) => (await import("./leases-cmd.js")).runLeases(a, e, s),
  metrics: async (a, e) => (await import("./metrics-cmd.js")).runMetrics(a, e),
  reapply: (a, e) => runReapply(a, e),
  watch: (a, e) => runWatch(a, e),
  userd: async (a, e) => (await import("./userd/userd.js")).runUserd(a, e),
  qemu: async (a, e) => (await import("./userd/client.js")).runUserQemu(a, e),
};

/** Run `kvmnet ARGS`; returns the exit code. SUFFIXNET is the NET of a program run as `kvmnet@NET`. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, suffixNet?: string): Promise<number> {
  const [cmd, ...rest] = args;
  if (isLeaseEvent(args, env)) return runLeaseEvent(args, env);
  if (cmd === undefined) {
    process.stderr.write(USAGE + "\n");
    return 2;
  }
  if (cmd === "--help" || cmd === "-h" || (cmd === "help" && rest.length === 0)) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (cmd === "help") return runCli([rest[0]!, "--help"], env, suffixNet);
  const run = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!run) {
    const near = Object.keys(COMMANDS).find((c) => c.startsWith(cmd.slice(0, 2)));
    throw new UsageError(`unknown command "${cmd}"${near ? `; did you mean ${near}?` : ""} (see kvmnet --help)`);
  }
  return run(rest, env, suffixNet);
}
