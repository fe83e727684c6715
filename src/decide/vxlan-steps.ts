// Deciding a network's VXLAN side: the device under the bridge, its flood entries towards the static peers, the
// underlay guard, and (EVPN) kvmnet's part of FRR's config. Pure: from the observation of observe/vxlan-state.ts.
import type { Network } from "../config/types.js";
import { localOf, type VxlanObserved } from "../observe/vxlan-state.js";
import { frrEvpnCommands, hasEvpn } from "../render/frr.js";
import { vxlanAlias, vxlanDeviceAlias, wantedPeers } from "../render/vxlan-text.js";
import { sideTables } from "../firewall/side-tables-chosen.js";
import type { Step } from "../core/steps.js";
import { vxlanDevName } from "../core/names.js";

const FLOOD = "00:00:00:00:00:00";

/** True when kvmnet made DEVICE-ALIAS for NET (its alias starts with kvmnet's mark for NET). */
export function isOurVxlan(net: Network, alias: string): boolean {
  return alias.startsWith(`kvmnet:${net.name},`);
}

/** Steps that give NET (whose bridge exists, or is made by an earlier step) its VXLAN device, flood entries and
 *  guard, and EVPN in FRR; [] when all is in place. A device of that name kvmnet did not make is left alone. */
export function vxlanUpSteps(net: Network, obs: VxlanObserved | null | undefined): Step[] {
  const vx = net.vxlan;
  if (!vx || !obs) return [];
  const dev = vxlanDevName(vx);
  const local = localOf(vx, obs.underlayAddrs);
  const peers = wantedPeers(vx, obs.underlayAddrs);
  const link = obs.link;
  if (link && !isOurVxlan(net, obs.alias)) return [];
  const steps: Step[] = [];
  const ip: string[] = [];
  // Made with another VNI, port, underlay or local address (the config changed): made again.
  const remake = !!link && !obs.alias.startsWith(vxlanDeviceAlias(net, vx, local));
  const make = !link || remake;
  if (remake) ip.push(`link delete dev ${dev}`);
  if (make) {
    // Static peers: the device learns which peer each remote MAC is behind (unicast then goes to that peer only;
    // the guard lets in only the peers). EVPN: FRR installs the remote MACs, so the device and its bridge port
    // learn nothing themselves (FRR's requirement).
    const learning = vx.evpn ? " nolearning" : "";
    ip.push(
      `link add name ${dev} mtu ${net.mtu ?? 1450} type vxlan id ${vx.id} dstport ${vx.port}${local ? ` local ${local}` : ""} dev ${vx.dev}${learning}`,
      `link set dev ${dev} alias ${vxlanDeviceAlias(net, vx, local)}`,
    );
  }
  if (make || link?.master !== net.bridge || !link.up) {
    ip.push(`link set dev ${dev} master ${net.bridge}`);
    if (vx.evpn) ip.push(`link set dev ${dev} type bridge_slave learning off`);
    ip.push(`link set dev ${dev} up`);
  }
  if (ip.length) steps.push({ kind: "ip", lines: ip });
  const alias = vxlanAlias(net, vx, peers, local);
  if (!vx.evpn) {
    const have = make ? [] : (obs.flood ?? null);
    if (have !== null) {
      const lines = [
        ...peers.filter((p) => !have.includes(p)).map((p) => `fdb append ${FLOOD} dev ${dev} dst ${p}`),
        ...have.filter((p) => !peers.includes(p)).map((p) => `fdb del ${FLOOD} dev ${dev} dst ${p}`),
      ];
      if (lines.length) steps.push({ kind: "bridge", lines });
      // A peer removed: the guests' MACs learnt behind it go too, or guests keep reaching it until they age out.
      const stale = (obs.learned ?? []).filter((e) => !peers.includes(e.dst));
      if (stale.length)
        steps.push({
          kind: "bridge",
          force: true,
          lines: stale.map((e) => `fdb del ${e.mac} dev ${dev} dst ${e.dst}`),
        });
    }
  }
  // The alias records the peers last: a run cut off before the flood entries were made is finished by the next.
  if (make || obs.alias !== alias) steps.push({ kind: "ip", lines: [`link set dev ${dev} alias ${alias}`] });
  if (make || (obs.guard !== undefined && obs.guard !== sideTables.vxlanGuardComment(net, vx, peers)))
    steps.push(sideTables.vxlanGuardUp(net, vx, peers));
  if (vx.evpn && vx.asn && obs.frr !== undefined && !hasEvpn(obs.frr, vx.asn))
    steps.push({ kind: "vtysh", commands: frrEvpnCommands(vx.asn) });
  return steps;
}

/** Steps that remove NET's VXLAN device (when kvmnet made it) and its guard table. */
export function vxlanDownSteps(net: Network, obs: VxlanObserved | null | undefined): Step[] {
  if (!net.vxlan || !obs) return [];
  const steps: Step[] = [];
  if (obs.link && isOurVxlan(net, obs.alias))
    steps.push({ kind: "ip", lines: [`link delete dev ${vxlanDevName(net.vxlan)}`] });
  steps.push(sideTables.vxlanGuardDown(net));
  return steps;
}
