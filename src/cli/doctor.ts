// `kvmnet doctor`: host prerequisites and known conflicts, each with its fix. Reads only; changes nothing.
import { existsSync, readFileSync } from "node:fs";
import { realExec, type Exec } from "../host/exec.js";
import { configPath, loadConfig } from "../config/load.js";
import { checkFirewallCaps } from "../firewall/caps.js";
import type { Config } from "../config/types.js";
import { ConfigError, formatProblem } from "../errors.js";
import { resolveBridgeOr } from "../observe/default-route.js";
import { parseCommand } from "./args.js";
import { checkDnsmasq } from "./doctor/dnsmasq-check.js";
import { checkForwardDrop } from "../coexist/forward-drop.js";
import { checkHostFit } from "./doctor/host.js";
import { checkInputDrop } from "../coexist/input-drop.js";
import { checkBrNetfilter, checkForwarding, checkTun } from "./doctor/kernel.js";
import { checkNetworkManager } from "./doctor/nm.js";
import { checkPorts } from "./doctor/bind-ports-check.js";
import { checkPublish } from "./doctor/publish-check.js";
import { checkTftp } from "./doctor/tftp-check.js";
import { checkResolved } from "./doctor/resolved-check.js";
import { checkTools } from "./doctor/tools.js";
import { checkUfw } from "../coexist/ufw.js";
import { checkVxlan } from "./doctor/vxlan-check.js";
import { checkUserd } from "./doctor/userd-check.js";
import type { DoctorContext, Finding, Level } from "../coexist/finding.js";
import { out, outJson, stdoutPaint, type Paint } from "./output.js";

const USAGE = `usage: kvmnet doctor [--json]

Check this host for what kvmnet and its configured networks need, and for known conflicts, each with
its fix: missing tools (ip, nft or iptables, dnsmasq), /dev/net/tun, IPv4 forwarding, a forward chain
with policy DROP (Docker), an input chain with policy DROP (a host firewall: guests get no lease),
ufw's deny (routed) or deny (incoming), br_netfilter with bridge-nf-call-iptables = 1, another
process on port 53, 67 or (with tftp_root) 69 of a bridge address, a TFTP root dnsmasq cannot read, NetworkManager managing a kvmnet bridge,
a network with a domain the host does not resolve (systemd-resolved not running, or not told), a subnet
that collides with a host route, kvmnet's dnsmasq serving a deleted bridge, running without its pid
record or unable to read its static leases; kvmnet-userd's socket (missing, not listening, closed to users)
for networks with allow_users / allow_groups.
Reads only; changes nothing.
Exit 0 when nothing would break a configured network (warnings allowed), 1 when something would.

  --json   print {"config","ok","checks":[{"id","level":"ok|warn|fail|skip","message","fix","networks"}]}`;

/** Every finding for the host and CONFIG. */
export function diagnose(ctx: DoctorContext): Finding[] {
  return [
    ...checkTools(ctx),
    checkTun(ctx),
    ...checkHostFit(ctx),
    checkForwarding(ctx),
    checkBrNetfilter(ctx),
    ...checkForwardDrop(ctx),
    ...checkInputDrop(ctx),
    checkUfw(ctx),
    ...checkPorts(ctx),
    ...checkDnsmasq(ctx),
    ...checkTftp(ctx),
    checkNetworkManager(ctx),
    ...checkVxlan(ctx),
    ...checkPublish(ctx),
    ...checkResolved(ctx),
    checkUserd(ctx),
  ];
}

function readOrNull(path: string): string | null {
  try {
    return path.startsWith("/dev/") ? (existsSync(path) ? "" : null) : readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Run `kvmnet doctor ARGS`. */
export async function runDoctor(args: string[], env: NodeJS.ProcessEnv, exec: Exec = realExec): Promise<number> {
  const parsed = parseCommand(
    { name: "doctor", usage: USAGE, options: { json: { type: "boolean" } }, maxPositionals: 0 },
    args,
  );
  if (!parsed) return 0;
  const file = configPath(env);
  let config: Config | null = null;
  const findings: Finding[] = [];
  try {
    const loaded = checkFirewallCaps(loadConfig(file));
    // Checks name bridges: `@default-route` stands for the bridge it resolves to now (kept as is if none).
    config = { ...loaded, networks: loaded.networks.map((n) => resolveBridgeOr(loaded, n)) };
    findings.push({
      id: "config",
      level: "ok",
      message: `${file}: ${config.networks.length} network${config.networks.length === 1 ? "" : "s"} (${config.networks.map((n) => n.name).join(", ")})`,
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    findings.push({
      id: "config",
      level: "fail",
      message: e.problems.map(formatProblem).join("\n"),
      fix: existsSync(file)
        ? `kvmnet check lists every problem; the checks below assume no networks`
        : "kvmnet install writes /etc/kvmnet.conf from the template (--dest DIR: DIR/kvmnet.conf), kvmnet.conf(5) " +
          "describes it; the checks below assume no networks",
    });
  }
  findings.push(...diagnose({ config, env, exec, read: readOrNull }));
  const failed = findings.some((f) => f.level === "fail");
  if (parsed.values.json) {
    outJson({ config: file, ok: !failed, checks: findings });
  } else {
    out(render(findings, stdoutPaint(env)));
  }
  return failed ? 1 : 0;
}

const LABEL: Record<Level, string> = { ok: "ok  ", warn: "warn", fail: "FAIL", skip: "skip" };

/** The plain report: one line per finding, its fix below, a summary last. */
export function render(findings: Finding[], p: Paint): string {
  const colour: Record<Level, (s: string) => string> = { ok: p.ok, warn: p.warn, fail: p.bad, skip: p.dim };
  const lines = findings.flatMap((f) => {
    const [first, ...rest] = f.message.split("\n");
    return [
      `${colour[f.level](LABEL[f.level])}  ${first}`,
      ...rest.map((l) => `      ${l}`),
      ...(f.fix && f.level !== "ok" ? [`      ${p.dim("fix:")} ${f.fix}`] : []),
    ];
  });
  const n = (l: Level) => findings.filter((f) => f.level === l).length;
  const fails = n("fail");
  lines.push(
    "",
    fails
      ? p.bad(`${fails} problem${fails > 1 ? "s" : ""} would break a configured network`) +
          (n("warn") ? `, ${n("warn")} warning${n("warn") > 1 ? "s" : ""}` : "")
      : p.ok("nothing here would break a configured network") +
          (n("warn") ? ` (${n("warn")} warning${n("warn") > 1 ? "s" : ""})` : ""),
  );
  return lines.join("\n");
}
