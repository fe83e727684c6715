// What a backend found of a network's rules. Each backend reads and writes only its own variant; the variant also
// says which backend looked, so the steps are decided by the backend that observed.
import type { DockerUserState } from "./docker.js";
import type { IptSave } from "./iptables/save.js";
import type { NftLook } from "./nft/read.js";
import type { NftListing } from "./nft/listing.js";

/** What was found of a network's rules. QUICK: the nft quick look (null when it failed: something is missing).
 *  FULL: the thorough look, taken only when the quick one did not show the network in place. OTHER: the other
 *  backend's state (null where its tool is missing), taken at the same time. DOCKER: Docker's DOCKER-USER chains,
 *  read with the thorough look or when asked for (src/firewall/docker.ts). */
export type FirewallState = (
  | { backend: "nftables"; quick: NftListing | null; full?: NftLook; other?: IptSave | null }
  | { backend: "iptables"; save: IptSave; other?: NftLook | null }
) & { docker?: DockerUserState };

/** STATE as the nft backend's. */
export type NftState = Extract<FirewallState, { backend: "nftables" }>;
/** STATE as the iptables backend's. */
export type IptState = Extract<FirewallState, { backend: "iptables" }>;
