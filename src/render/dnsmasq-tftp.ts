// The lines of a network's dnsmasq config for network boot (src/config/tftp.ts): its TFTP server and the boot
// file each kind of client is told.
import type { Network } from "../config/types.js";

/** dnsmasq lines for NET's tftp_root, boot_file* and boot_server keys (none when unset). */
export function tftpLines(net: Network): string[] {
  const b = net.boot;
  if (!b) return [];
  const lines: string[] = [];
  // Read-only and confined to the root (dnsmasq refuses ".." and paths outside it), on this bridge only.
  if (b.root) lines.push("enable-tftp", `tftp-root=${b.root}`);
  // Without boot_server, dnsmasq names itself as next-server when its TFTP is on.
  const at = b.server ? `,,${b.server}` : "";
  const efi = b.efi !== undefined;
  const ipxe = b.ipxe !== undefined;
  if (efi)
    lines.push("dhcp-match=set:efi-x86_64,option:client-arch,7", "dhcp-match=set:efi-x86_64,option:client-arch,9");
  if (ipxe) lines.push("dhcp-userclass=set:ipxe,iPXE");
  const not = [...(ipxe ? ["tag:!ipxe"] : []), ...(efi ? ["tag:!efi-x86_64"] : [])];
  if (b.file) lines.push(`dhcp-boot=${[...not, b.file].join(",")}${at}`);
  if (efi) lines.push(`dhcp-boot=${[...(ipxe ? ["tag:!ipxe"] : []), "tag:efi-x86_64", b.efi].join(",")}${at}`);
  if (ipxe) lines.push(`dhcp-boot=tag:ipxe,${b.ipxe}${at}`);
  return lines;
}
