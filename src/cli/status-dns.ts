// What `kvmnet status` says of a network's DNS and network boot (src/config/dns.ts, src/config/tftp.ts).
import type { Config, Network } from "../config/types.js";
import { tftpRefusal } from "../decide/tftp-refusal.js";
import type { DnsmasqState } from "../observe/dnsmasq-state.js";

/** The DNS and boot lines of NET's status: dns "on"/"off (DHCP only)" with forwarders and record count, boot
 *  (absent without network boot), and why its TFTP cannot serve. */
export function dnsBootStatus(config: Config, net: Network, d: DnsmasqState) {
  const s = net.dns;
  const records = s ? s.srv.length + s.txt.length + s.cname.length : 0;
  const dns = s?.off
    ? "off (DHCP only, nothing on port 53)"
    : [
        `on ${net.address!.address}:53`,
        s?.forwarders.length ? `forwarders ${s.forwarders.join(", ")}` : "upstream from the host's resolv.conf",
        ...(records ? [`${records} record${records > 1 ? "s" : ""}`] : []),
      ].join(", ");
  const b = net.boot;
  const boot = b
    ? [
        b.root ? `tftp ${b.root}` : `next-server ${b.server}`,
        ...(b.file ? [`bios ${b.file}`] : []),
        ...(b.efi ? [`uefi ${b.efi}`] : []),
        ...(b.ipxe ? [`ipxe ${b.ipxe}`] : []),
      ].join(", ")
    : undefined;
  const refusal = tftpRefusal(config, net, d);
  return { dns, ...(boot ? { boot } : {}), problems: refusal ? [refusal.message] : [] };
}
