// `kvmnet status [NET] [--json]`: the command around status.ts and status-view.ts.
import { realExec, type Exec } from "../host/exec.js";
import { parseCommand } from "./args.js";
import { configFrom, findNetwork } from "./networks.js";
import { out, outJson, stdoutPaint } from "./output.js";
import { networkStatus } from "./status.js";
import { drawNetwork } from "./status-view.js";

const USAGE = `usage: kvmnet status [NET] [--json]

Show every configured network (or NET): mode, bridge and its addresses, attached ports with their MAC,
the uplink, whether kvmnet's firewall rules and dnsmasq are in place, and the DHCP leases. Changes nothing.

  --json   print {"networks":[{"name","mode","bridge","up","ports":[names],"leases":[{"mac","ip","hostname","expires"}],
           "exists","createdByKvmnet","mac","mtu","address","addresses","uplink","portDetails","firewall","dnsmasq",
           "forwarding","pending"}]}`;

/** Run `kvmnet status ARGS`. */
export async function runStatus(
  args: string[],
  env: NodeJS.ProcessEnv,
  suffixNet?: string,
  exec: Exec = realExec,
): Promise<number> {
  const parsed = parseCommand(
    { name: "status", usage: USAGE, options: { json: { type: "boolean" } }, maxPositionals: 1 },
    args,
  );
  if (!parsed) return 0;
  const config = configFrom(env);
  const name = parsed.positionals[0] ?? suffixNet;
  const nets = name === undefined ? config.networks : [findNetwork(config, name)];
  const all = nets.map((n) => networkStatus(config, n, exec));
  if (parsed.values.json) {
    outJson({ config: config.file, networks: all });
    return 0;
  }
  const p = stdoutPaint(env);
  if (!all.length) out(`kvmnet: ${config.file} defines no networks`);
  else out(all.map((s) => drawNetwork(s, p).join("\n")).join("\n\n"));
  return 0;
}
