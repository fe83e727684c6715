// What kvmnet registers with systemd-resolved for a network with a `domain`, so that the host itself resolves its
// guests' names: the bridge's DNS server (dnsmasq listens on the bridge's address) for the routing-only domains
// ~DOMAIN and the reverse zones of the network's subnets, and the link never a default route for other names.
import type { Config, Network } from "../config/types.js";
import { renderDnsmasq } from "./dnsmasq.js";
import { localReverseZones } from "./dnsmasq-dns.js";
import { reverseZones4 } from "./reverse-zones.js";

/** A link's DNS settings in systemd-resolved, as kvmnet sets and reads them. */
export interface ResolvedLink {
  /** DNS server addresses. */
  dns: string[];
  /** Search or routing domains; a routing-only domain is written with a leading "~" (as resolvectl writes it). */
  domains: string[];
}

/** What NET's bridge gets in systemd-resolved, or null: no domain, or no DNS served on the bridge. */
export function resolvedLinkFor(config: Config, net: Network): ResolvedLink | null {
  if (!net.domain || !net.address || net.dns?.off || renderDnsmasq(config, net) === null) return null;
  return { dns: [net.address.address], domains: [`~${net.domain}`, ...localReverseZones(net).map((z) => `~${z}`)] };
}

/** True when LINK holds what kvmnet registers for NET under some domain (the bridge's address as the only DNS
 *  server; routing-only domains, among them the reverse zones of NET's subnet): kvmnet's, to revert when the
 *  network's domain is dropped. An admin's own settings on the bridge (another server, a search domain, no reverse
 *  zone) are left alone. */
export function looksLikeKvmnets(link: ResolvedLink, net: Network): boolean {
  if (!net.address || link.dns.length !== 1 || link.dns[0] !== net.address.address) return false;
  if (!link.domains.every((d) => d.startsWith("~"))) return false;
  return reverseZones4(net.address).every((z) => link.domains.includes(`~${z}`));
}
