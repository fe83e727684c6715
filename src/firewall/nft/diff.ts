// The nftables backend's decisions for one network in the shared table: is it in place, what of it is there,
// what must go. Pure.
import type { Network } from "../../config/types.js";
import type { NftListing } from "./listing.js";
import { NFT_MAPS, nftChains } from "../../core/names.js";
import type { NftNetwork } from "./render.js";
import type { NftObjects } from "./script.js";
import { isAclCounterOf } from "./acl-rules.js";

const same = (a: string[] | undefined, b: string[]) => !!a && a.join("\n") === b.join("\n");

/** True when QUICK (NET's "from" chain and the map leading to it) shows NET exactly as WANT: that chain's
 *  text, whose last rule carries the digest of all NET owns, and its one map element. */
export function nftInPlace(net: Network, want: NftNetwork, quick: NftListing): boolean {
  const from = nftChains(net).from;
  const leading = quick.elements.filter(
    (e) => e.map === NFT_MAPS.from && (e.chain === from || e.key === `"${net.bridge}"`),
  );
  return (
    same(quick.chains[from], want.chains[from]!) &&
    leading.length === 1 &&
    leading[0]!.chain === from &&
    leading[0]!.key === `"${net.bridge}"`
  );
}

/** NET's chains, map elements and ACL counters in LISTING: its own chains, elements jumping to them, (when WANT is
 *  given) elements under one of WANT's keys that jump elsewhere (a bridge that moved to NET from another network),
 *  and the counters of its firewall rules, those of rules since taken out of the config too. */
export function nftOwned(net: Network, listing: NftListing, want?: NftNetwork): NftObjects {
  const own = Object.values(nftChains(net));
  const taken = (e: { map: string; key: string }) => !!want?.elements.some((w) => w.map === e.map && w.key === e.key);
  return {
    chains: own.filter((c) => listing.chains[c]),
    elements: listing.elements.filter((e) => own.includes(e.chain) || taken(e)),
    counters: listing.counters.filter((c) => isAclCounterOf(net, c)),
  };
}

/** What of PRESENT must go when WANT is written: chains WANT does not have, elements not exactly WANT's, counters
 *  of rules no longer configured. */
export function nftStale(present: NftObjects, want: NftNetwork): NftObjects {
  return {
    chains: present.chains.filter((c) => !want.chains[c]),
    elements: present.elements.filter(
      (e) => !want.elements.some((w) => w.map === e.map && w.key === e.key && w.chain === e.chain),
    ),
    counters: present.counters.filter((c) => !want.counters.includes(c)),
  };
}
