// Kernel prerequisites: /dev/net/tun, IPv4 forwarding, and br_netfilter sending bridged frames to iptables.
import { traits } from "../../modes.js";
import { readLink } from "../../observe/links.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";

/** /dev/net/tun must exist for QEMU to make taps. */
export function checkTun(ctx: DoctorContext): Finding {
  if (ctx.read("/dev/net/tun") !== null)
    return { id: "tun", level: "ok", message: "/dev/net/tun is there (QEMU can make taps)" };
  return {
    id: "tun",
    level: "fail",
    message: "/dev/net/tun is missing: QEMU cannot create tap devices",
    fix: "modprobe tun (in a container: give it the device, e.g. --device /dev/net/tun)",
  };
}

/** Forwarding: nat and routed networks need it; kvmnet turns it on when one comes up. */
export function checkForwarding(ctx: DoctorContext): Finding {
  const on = ctx.read("/proc/sys/net/ipv4/ip_forward")?.trim() === "1";
  const fwd = (ctx.config?.networks ?? []).filter((n) => traits(n).forwarding);
  if (on) return { id: "forwarding", level: "ok", message: "IPv4 forwarding is on" };
  if (!fwd.length)
    return { id: "forwarding", level: "ok", message: "IPv4 forwarding is off (no nat or routed network needs it)" };
  const live = fwd.filter((n) => readLink(n.bridge) !== null).map((n) => n.name);
  if (!live.length) {
    return {
      id: "forwarding",
      level: "ok",
      message: `IPv4 forwarding is off; kvmnet turns it on when ${fwd.map((n) => n.name).join(", ")} comes up`,
    };
  }
  return {
    id: "forwarding",
    level: "fail",
    networks: live,
    message: `IPv4 forwarding is off while ${live.join(", ")} ${live.length > 1 ? "are" : "is"} up: guests cannot reach beyond the host (something turned it off after kvmnet turned it on)`,
    fix: `kvmnet up ${live[0]} (turns it on), or sysctl -w net.ipv4.ip_forward=1; find what turns it off (a sysctl.d file, a firewall manager)`,
  };
}

/** br_netfilter with bridge-nf-call-iptables = 1: bridged guest traffic meets the host's forward rules. */
export function checkBrNetfilter(ctx: DoctorContext): Finding {
  const v = ctx.read("/proc/sys/net/bridge/bridge-nf-call-iptables");
  if (v === null)
    return { id: "br_netfilter", level: "ok", message: "br_netfilter is not loaded: bridged frames bypass iptables" };
  if (v.trim() !== "1")
    return { id: "br_netfilter", level: "ok", message: "br_netfilter is loaded with bridge-nf-call-iptables = 0" };
  const bridged = (ctx.config?.networks ?? []).filter((n) => !traits(n).ownBridge).map((n) => n.name);
  return {
    id: "br_netfilter",
    level: "warn",
    ...(bridged.length ? { networks: bridged } : {}),
    message:
      "br_netfilter is loaded with bridge-nf-call-iptables = 1: frames between guests on one bridge" +
      (bridged.length
        ? `, and all traffic of bridge network${bridged.length > 1 ? "s" : ""} ${bridged.join(", ")},`
        : "") +
      " pass the host's IPv4 forward rules (kvmnet's own rules allow them; a DROP elsewhere does not, see forward-drop and ufw)." +
      " kvmnet cannot switch this off for its bridges: a bridge's own nf_call_iptables = 0 does not, while the sysctl is 1",
    fix: "unless Docker or Kubernetes on this host need it: sysctl -w net.bridge.bridge-nf-call-iptables=0; echo 'net.bridge.bridge-nf-call-iptables = 0' > /etc/sysctl.d/99-kvmnet.conf; echo br_netfilter > /etc/modules-load.d/kvmnet.conf (so the module is loaded before systemd-sysctl applies the file at boot)",
  };
}
