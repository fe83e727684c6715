// `kvmnet plan NET`: what `kvmnet up NET` would do now, and the rules and dnsmasq config it keeps, changing nothing.
import { realExec, type Exec } from "../host/exec.js";
import { showStep } from "../core/steps.js";
import { look } from "../converge/converge.js";
import { formatProblem } from "../errors.js";
import { renderDnsmasq } from "../render/dnsmasq-conf.js";
import { dnsmasqFiles } from "../core/names.js";
import { firewallBackend } from "../firewall/choose-backend.js";
import { parseCommand } from "./args.js";
import { configFrom, findNetwork } from "./networks.js";
import { out, outJson, stdoutPaint } from "./output.js";
import { UsageError } from "../errors.js";

const USAGE = `usage: kvmnet plan NET [--json]

Show exactly what \`kvmnet up NET\` would do now (the commands, in order), then the firewall rules and
the dnsmasq config kvmnet keeps for NET. Reads the host's state; changes nothing.
Exit 0, or 2 when up would refuse (the reasons are printed).

  --json   print {"network","mode","bridge","problems","steps":[{"kind","command",...}],"firewall","dnsmasq"}`;

/** Run `kvmnet plan ARGS`. */
export async function runPlan(
  args: string[],
  env: NodeJS.ProcessEnv,
  suffixNet?: string,
  exec: Exec = realExec,
): Promise<number> {
  const parsed = parseCommand(
    { name: "plan", usage: USAGE, options: { json: { type: "boolean" } }, maxPositionals: 1 },
    args,
  );
  if (!parsed) return 0;
  const name = parsed.positionals[0] ?? suffixNet;
  if (name === undefined) throw new UsageError("plan: name the network (see kvmnet plan --help)");
  const config = configFrom(env);
  const picked = findNetwork(config, name);
  const seen = look(config, picked, { action: "up" }, exec);
  const { net, problems, refusal } = seen;
  const steps = refusal ? [] : seen.decision.steps;
  const firewall = firewallBackend(config.firewall);
  const rules = firewall.rulesText(net);
  const dns = renderDnsmasq(config, net);
  const files = dnsmasqFiles(config, net);
  if (parsed.values.json) {
    outJson({
      network: net.name,
      mode: net.mode,
      bridge: net.bridge,
      problems,
      steps: steps.map((s) => ({ ...s, command: showStep(s) })),
      firewall: rules === null ? null : { backend: config.firewall, rules },
      dnsmasq: dns === null ? null : { confFile: files.conf, ...dns },
    });
    return refusal ? refusal.exitCode : 0;
  }
  const p = stdoutPaint(env);
  const text: string[] = [
    p.bold(`# kvmnet plan: network ${net.name} (${net.mode}, bridge ${net.bridge}) from ${config.file}`),
  ];
  if (refusal) {
    const why = problems.length ? problems.map(formatProblem) : refusal.message.split("\n");
    text.push(p.bad(`# kvmnet up ${net.name} would refuse, changing nothing:`), ...why.map((x) => `#   ${x}`));
  } else if (steps.length === 0) {
    text.push(p.ok(`# nothing to do: ${net.name} is up as configured`));
  } else {
    text.push(`# kvmnet up ${net.name} would run these ${steps.length} steps, in order:`, ...steps.map(showStep));
    if (seen.decision.again) text.push("# then look at the host again and carry on from what it finds");
  }
  if (rules !== null) {
    const what = firewall.rulesTitle(net);
    text.push("", p.bold(`# firewall: ${what}`), rules.trimEnd());
  } else text.push("", p.dim(`# firewall: mode ${net.mode} needs no rules`));
  if (dns !== null) {
    text.push("", p.bold(`# dnsmasq config: ${files.conf}`), dns.conf.trimEnd());
    if (dns.hosts) text.push("", p.bold(`# dnsmasq static leases: ${files.hosts}`), dns.hosts.trimEnd());
  } else text.push("", p.dim("# dnsmasq: none (no dhcp_range)"));
  out(text.join("\n"));
  return refusal ? refusal.exitCode : 0;
}
