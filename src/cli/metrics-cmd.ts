// `kvmnet metrics [--listen ADDR:PORT [--allow-remote]]`: the metrics on stdout (for node_exporter's textfile
// collector), or served over HTTP at /metrics, each scrape observed afresh.
import { errnoWords, errorText } from "../errno.js";
import { createServer } from "node:http";
import { isIP } from "node:net";
import { UsageError } from "../errors.js";
import { realExec, type Exec } from "../host/exec.js";
import { parseCommand } from "./args.js";
import { collectMetrics } from "./metrics.js";
import { CONTENT_TYPE, exposition } from "./metrics-text.js";
import { configFrom } from "./networks.js";
import { warnLine } from "./output.js";

const USAGE = `usage: kvmnet metrics [--listen ADDR:PORT [--allow-remote]]

Print Prometheus metrics of every configured network: per interface (bridge, taps, uplink) bytes, packets and
drops with labels network, interface, role and guest_mac; DHCP leases and pool size; kvmnet's rule counters
(label rule: from, to, cross = guest to guest, nat = connections source-NATed, reject); packets a tap's rate
limit dropped (label direction: download, upload). Changes nothing.

  --listen ADDR:PORT   serve them at http://ADDR:PORT/metrics instead (IPv6: [ADDR]:PORT) until stopped
  --allow-remote       let --listen bind an address other than loopback (127.0.0.0/8, ::1): anyone who can
                       reach it reads the guests' MAC addresses and traffic

For node_exporter's textfile collector, from a timer:
  kvmnet metrics > /var/lib/prometheus/node-exporter/kvmnet.prom.$$ && mv /var/lib/prometheus/node-exporter/kvmnet.prom.$$ /var/lib/prometheus/node-exporter/kvmnet.prom`;

/** Run `kvmnet metrics ARGS`. */
export async function runMetrics(args: string[], env: NodeJS.ProcessEnv, exec: Exec = realExec): Promise<number> {
  const parsed = parseCommand(
    {
      name: "metrics",
      usage: USAGE,
      options: { listen: { type: "string" }, "allow-remote": { type: "boolean" } },
      maxPositionals: 0,
    },
    args,
  );
  if (!parsed) return 0;
  const listen = parsed.values.listen;
  if (parsed.values["allow-remote"] && listen === undefined)
    throw new UsageError("metrics: --allow-remote goes with --listen (see kvmnet metrics --help)");
  const config = configFrom(env);
  if (listen === undefined) {
    process.stdout.write(exposition(collectMetrics(config, exec)));
    return 0;
  }
  const at = parseListen(listen, !!parsed.values["allow-remote"]);
  return serve(at, env, exec);
}

/** ADDR:PORT of --listen; a non-loopback address only when REMOTE. */
export function parseListen(text: string, remote: boolean): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  const bad = (why: string) => new UsageError(`metrics: --listen ${text}: ${why} (see kvmnet metrics --help)`);
  if (!m || !host) throw bad("give ADDR:PORT, e.g. 127.0.0.1:9567 or [::1]:9567");
  if (isIP(host) !== (m[1] ? 6 : 4)) throw bad(`${host} is not an ${m[1] ? "IPv6" : "IPv4"} address`);
  if (port < 1 || port > 65535) throw bad(`port ${m[3]} is not 1-65535`);
  const loopback = host === "::1" || /^127\./.test(host);
  if (!loopback && !remote) throw bad(`${host} is not a loopback address; add --allow-remote to serve it there`);
  return { host, port };
}

// Serve until SIGTERM or SIGINT; exit 0 then, 1 when the address cannot be bound.
function serve(at: { host: string; port: number }, env: NodeJS.ProcessEnv, exec: Exec): Promise<number> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("kvmnet: GET /metrics\n");
    } else if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("kvmnet: the metrics are at /metrics\n");
    } else {
      let body: string;
      try {
        // The config is read again for each scrape: networks added since show up.
        body = exposition(collectMetrics(configFrom(env), exec));
      } catch (e) {
        warnLine(`metrics: ${errorText(e)}`);
        res.writeHead(500, { "content-type": "text/plain" }).end(`kvmnet: ${errorText(e)}\n`);
        return;
      }
      res.writeHead(200, { "content-type": CONTENT_TYPE });
      res.end(req.method === "HEAD" ? undefined : body);
    }
  });
  return new Promise((resolve) => {
    const stop = () => server.close(() => resolve(0));
    server.once("error", (e) => {
      warnLine(`metrics: cannot listen on ${at.host}:${at.port}: ${errnoWords(e)}`);
      resolve(1);
    });
    server.listen(at.port, at.host, () => {
      const shown = at.host.includes(":") ? `[${at.host}]` : at.host;
      warnLine(`serving metrics at http://${shown}:${at.port}/metrics`);
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
  });
}
