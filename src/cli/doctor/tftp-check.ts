// Network boot: another TFTP server on port 69 where a network's dnsmasq serves TFTP (dnsmasq fails to start,
// or guests fetch boot files from the other one), and a tftp_root dnsmasq cannot read as nobody.
import { tftpRefusal } from "../../decide/tftp-refusal.js";
import { observeDnsmasq } from "../../observe/dnsmasq-state.js";
import { listSockets } from "./sockets.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";

/** Findings for every network with tftp_root (none when no network has one). */
export function checkTftp(ctx: DoctorContext): Finding[] {
  const config = ctx.config;
  const nets = (config?.networks ?? []).filter((n) => n.boot?.root && n.address);
  if (!config || !nets.length) return [];
  const sockets = listSockets(ctx.exec);
  return nets.map((n): Finding => {
    const state = observeDnsmasq(config, n, ctx.exec);
    const addr = n.address!.address;
    const clash = (sockets ?? []).filter(
      (s) =>
        s.proto === "udp" &&
        s.port === 69 &&
        (s.address === addr || s.address === "0.0.0.0") &&
        (s.device === null || s.device === n.bridge) &&
        !s.owners.some((o) => o.pid === state.pid),
    );
    if (clash.length) {
      const who = clash.flatMap((s) => s.owners.map((o) => `${o.comm} (pid ${o.pid})`)).join(", ");
      return {
        id: "tftp",
        level: "fail",
        networks: [n.name],
        message: `${n.name}: udp port 69 on ${addr} is held by ${who || "an unknown process"}: kvmnet's dnsmasq cannot serve TFTP there, or guests fetch boot files from that server`,
        fix: `make that TFTP server bind only other addresses (tftpd-hpa: TFTP_ADDRESS in /etc/default/tftpd-hpa), or stop it; or drop tftp_root and set boot_server = its address`,
      };
    }
    const refusal = tftpRefusal(config, n, state);
    if (refusal) return { id: "tftp", level: "fail", networks: [n.name], message: `${n.name}: ${refusal.message}` };
    if (!sockets) return { id: "tftp", level: "skip", message: "ss (iproute2) did not run: port 69 not checked" };
    return {
      id: "tftp",
      level: "ok",
      message: `${n.name}: TFTP root ${n.boot!.root} readable by dnsmasq, port 69 on ${addr} free for it`,
    };
  });
}
