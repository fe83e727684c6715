// Validator of a VLAN bridge's keys: `vlan` (the VID) and `trunk` (the NIC that carries the tagged frames).
import type { Check } from "./check.js";
import { show } from "./value.js";

/** `vlan`, `trunk`: both or neither; no `uplink` beside them; TRUNK.VLAN fits an interface name. */
export const checkVlan: Check = ({ values, bad }) => {
  if (values.vlan === undefined) {
    if (values.trunk !== undefined) bad("trunk", "needs vlan = 1..4094");
    return;
  }
  const n = Number(values.vlan);
  if (!/^\d+$/.test(values.vlan) || n < 1 || n > 4094) {
    bad("vlan", `${show(values.vlan)} is not a VLAN id 1..4094`);
    return;
  }
  if (values.trunk === undefined) {
    bad("vlan", "needs trunk = the NIC that carries the tagged VLANs");
    return;
  }
  if (values.uplink !== undefined)
    bad("uplink", "not used with vlan: trunk names the NIC, and the bridge carries TRUNK.VLAN");
  const sub = `${values.trunk}.${n}`;
  if (sub.length > 15) bad("trunk", `the VLAN interface name ${sub} would be over 15 characters`);
  return { vlan: n };
};
