// The config against this host: a subnet the host already routes, a bridge name taken, a missing uplink.
import { formatProblem } from "../../errors.js";
import { hostProblems } from "../../converge/converge.js";
import { readRoutes } from "../../observe/routes.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";

/** One failing finding per problem the hooks would refuse the network for; one ok when there is none. */
export function checkHostFit(ctx: DoctorContext): Finding[] {
  const config = ctx.config;
  if (!config) return [];
  const routes = readRoutes();
  const found = config.networks.flatMap((n) => hostProblems(config, n, routes).map((p) => ({ n, p })));
  if (!found.length)
    return [
      { id: "host-fit", level: "ok", message: "no subnet collides with a host route; bridge and uplink names fit" },
    ];
  return found.map(({ n, p }) => ({
    id: p.key === "address" || p.key === "address6" ? "subnet-collision" : "host-fit",
    level: "fail",
    networks: [n.name],
    message: `${n.name}: ${formatProblem(p)}`,
    fix:
      p.key === "address"
        ? `give ${n.name} a subnet no route of this host covers (ip route shows them), then kvmnet check`
        : p.key === "address6"
          ? `give ${n.name} an IPv6 prefix no route of this host covers (ip -6 route shows them), then kvmnet check`
          : `fix ${p.key} of [${n.name}] at ${p.file}:${p.line}, then kvmnet check`,
  }));
}
