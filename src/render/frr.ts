// kvmnet's part of FRR's configuration for its networks across hosts with evpn = yes: BGP EVPN for every VNI of
// the host's VXLAN devices (advertise-all-vni: zebra reads each VNI from the kernel's VXLAN device, its local
// address as the VTEP). Applied to the running FRR through vtysh, within the admin's own `router bgp ASN`; the
// admin's neighbours, and FRR's config file, are the admin's: kvmnet adds these lines and never writes the file.

/** The lines kvmnet wants inside `router bgp ASN`, as `show running-config` prints them. */
export function frrEvpnFragment(asn: number): string {
  return [
    `router bgp ${asn}`,
    " address-family l2vpn evpn",
    "  advertise-all-vni",
    " exit-address-family",
    "exit",
    "",
  ].join("\n");
}

/** The vtysh commands (each one `-c`) that add the fragment to the running config. */
export function frrEvpnCommands(asn: number): string[] {
  return ["configure terminal", `router bgp ${asn}`, "address-family l2vpn evpn", "advertise-all-vni", "end"];
}

/** True when RUNNING (FRR's running config; null: FRR does not answer) has advertise-all-vni in the l2vpn evpn
 *  address family of `router bgp ASN`. */
export function hasEvpn(running: string | null, asn: number): boolean {
  if (!running) return false;
  const lines = running.split("\n");
  const start = lines.findIndex((l) => l.trimEnd() === `router bgp ${asn}` || l.startsWith(`router bgp ${asn} `));
  if (start < 0) return false;
  let family = false;
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith(" ")) break;
    const t = l.trim();
    if (t === "address-family l2vpn evpn") family = true;
    else if (t === "exit-address-family") family = false;
    else if (family && t === "advertise-all-vni") return true;
  }
  return false;
}
