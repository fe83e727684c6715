// `kvmnet leases [NET] [--json]`: each network's guests, their addresses and the tap each sits on.
import { realExec, type Exec } from "../host/exec.js";
import { parseCommand } from "./args.js";
import { showOwner, tapOwners, type TapOwner } from "./tap-owner.js";
import { leaseReport, observeLeases, type GuestLease, type NetworkLeases } from "./leases-report.js";
import { configFrom, findNetwork } from "./networks.js";
import { out, outJson, stdoutPaint, warnLine, type Paint } from "./output.js";

const USAGE = `usage: kvmnet leases [NET] [--json]

List the guests of every configured network (or NET): static leases (host.NAME) and dnsmasq's DHCP leases with
MAC, IPv4 address, hostname, client id and expiry; the tap each guest sits on (the bridge's forwarding database);
the IPv6 addresses seen (DHCPv6 leases, the bridge's neighbour table). Guests seen without a lease are listed as
"seen". Changes nothing.

  --json   print {"networks":[{"name","bridge","leaseFile","counts":{"static","dynamic","dhcpv6","pool"},
           "guests":[{"kind","name","mac","ip","clientId","expires","state","tap","owner"?,"ipv6":[{"ip","source","expires"}]}]}]}`;

/** Run `kvmnet leases ARGS`. */
export async function runLeases(
  args: string[],
  env: NodeJS.ProcessEnv,
  suffixNet?: string,
  exec: Exec = realExec,
  now = Date.now(),
): Promise<number> {
  const parsed = parseCommand(
    { name: "leases", usage: USAGE, options: { json: { type: "boolean" } }, maxPositionals: 1 },
    args,
  );
  if (!parsed) return 0;
  const config = configFrom(env);
  const name = parsed.positionals[0] ?? suffixNet;
  const nets = name === undefined ? config.networks : [findNetwork(config, name)];
  const ownerOf = tapOwners(config.stateDir);
  const all = nets.map((net) => {
    const seen = observeLeases(config, net, exec);
    for (const b of seen.file.bad) warnLine(`${seen.path}:${b.line}: not a dnsmasq lease line, skipped: ${b.text}`);
    const report = leaseReport(net, seen.path, seen, now);
    // A guest on an ordinary user's tap (kvmnet-userd): whose it is.
    for (const g of report.guests) {
      const owner = g.tap ? ownerOf(g.tap) : null;
      if (owner) Object.assign(g, { owner });
    }
    return report;
  });
  if (parsed.values.json) {
    outJson({ config: config.file, networks: all });
    return 0;
  }
  if (!all.length) out(`kvmnet: ${config.file} defines no networks`);
  else out(all.map((n) => drawLeases(n, stdoutPaint(env), now).join("\n")).join("\n\n"));
  return 0;
}

const COLUMNS = ["KIND", "NAME", "MAC", "IPV4", "TAP", "EXPIRES", "CLIENT-ID", "IPV6"];

/** NET's guests as a plain table (lines), headed by the network and its counts. */
export function drawLeases(n: NetworkLeases, p: Paint, now: number): string[] {
  const c = n.counts;
  const pool = c.pool === null ? "no DHCP" : `pool ${c.pool}`;
  const head = `${p.bold(n.name)} (bridge ${n.bridge}): ${c.static} static, ${c.dynamic} dynamic active, ${pool}`;
  if (!n.guests.length) return [head, `  ${p.dim("no guests")}`];
  const rows = n.guests.map((g) => [
    g.kind,
    g.name ?? "-",
    g.mac ?? "-",
    g.ip ?? "-",
    g.tap ? g.tap + ("owner" in g ? ` (${showOwner(g.owner as TapOwner)})` : "") : "-",
    expiry(g, now),
    g.clientId ?? "-",
    g.ipv6.map((a) => a.ip).join(", ") || "-",
  ]);
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    "  " +
    r
      .map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [head, p.dim(line(COLUMNS)), ...rows.map(line)];
}

// "never", "none" (no lease line), "expired", or the time in UTC to the second, with what is left.
function expiry(g: GuestLease, now: number): string {
  if (g.state === "none") return g.kind === "static" ? "no lease yet" : "-";
  if (g.expires === null) return "never";
  if (g.state === "expired") return "expired";
  const left = Math.round((Date.parse(g.expires) - now) / 1000);
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  return `${g.expires.replace(/\.\d+Z$/, "Z")} (${h ? `${h}h` : ""}${m}m)`;
}
