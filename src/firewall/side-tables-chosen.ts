// The tables beside the firewall backend, as kvmnet keeps them (nft, whichever backend `firewall =` chose).
import { nftSideTables } from "./nft/side-tables.js";
import type { SideTables } from "./side-types.js";

/** The per-VM guard's and the VXLAN underlay guard's tables. */
export const sideTables: SideTables = nftSideTables;

export type { GuardTable, SideTables, TapMac } from "./side-types.js";
