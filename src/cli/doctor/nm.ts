// NetworkManager managing a kvmnet bridge: it may take the bridge's address away or detach its taps.
import { which } from "../../host/which.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";
import { traits } from "../../modes.js";

/** Device → state from `nmcli -t -f DEVICE,STATE device status` (terse: colons in values escaped as \:). */
export function parseNmcliDevices(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^((?:\\.|[^:\\])*):(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!.replace(/\\(.)/g, "$1"), m[2]!.trim());
  }
  return out;
}

// States in which NetworkManager leaves the device alone.
const HANDS_OFF = ["unmanaged", "connected (externally)"];

/** One finding: which kvmnet bridges NetworkManager manages (bridge-mode bridges may well be NM's own). */
export function checkNetworkManager(ctx: DoctorContext): Finding {
  const id = "networkmanager";
  if (!which("nmcli", ctx.env)) return { id, level: "ok", message: "NetworkManager (nmcli) is not installed" };
  const r = ctx.exec.tryRun("nmcli", ["-t", "-f", "DEVICE,STATE", "device", "status"]);
  if (!r.ok)
    return {
      id,
      level: "ok",
      message: `NetworkManager is not running (${r.stderr.trim().split("\n")[0] || `nmcli exit ${r.code}`})`,
    };
  const devices = parseNmcliDevices(r.stdout);
  const ours = (ctx.config?.networks ?? []).filter((n) => traits(n).ownBridge);
  const managed = ours.filter((n) => devices.has(n.bridge) && !HANDS_OFF.includes(devices.get(n.bridge)!));
  if (!managed.length) return { id, level: "ok", message: "NetworkManager runs and leaves kvmnet's bridges alone" };
  const brs = managed.map((n) => n.bridge);
  return {
    id,
    level: "fail",
    networks: managed.map((n) => n.name),
    message: `NetworkManager manages ${managed.map((n) => `${n.bridge} (${devices.get(n.bridge)})`).join(", ")}: it may remove the address or detach the VMs' taps`,
    fix: `write /etc/NetworkManager/conf.d/kvmnet.conf with "[keyfile]" and "unmanaged-devices=${brs.map((b) => `interface-name:${b}`).join(";")}", then nmcli general reload`,
  };
}
