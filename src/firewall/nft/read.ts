// Reading kvmnet's nft objects: the quick look at one network's "from" chain and the map leading to it (one
// process, whatever the number of networks), and the thorough look at the whole shared table and the tables kvmnet
// 0.1 made per network.
import type { Network } from "../../config/types.js";
import { CommandError } from "../../errors.js";
import { showCommand, type Exec } from "../../host/exec.js";
import { NFT_MAPS, NFT_TABLE, nftChains, oldNftTable } from "../../core/names.js";
import { parseNftListing, type NftListing } from "./listing.js";

/** The shared nft table as found (null: absent), and whether the network's pre-0.2 table `ip kvmnet-NET` is. */
export interface NftLook {
  table: NftListing | null;
  oldTable: boolean;
}

/** NET's "from" chain and the map that leads to it (`nft list chain ...; list map ...`); null when that fails
 *  (something is missing). */
export function nftQuickLook(exec: Exec, net: Network): NftListing | null {
  const chain = ["list", "chain", "inet", NFT_TABLE, nftChains(net).from];
  const r = exec.tryRun("nft", [...chain, ";", "list", "map", "inet", NFT_TABLE, NFT_MAPS.from]);
  return r.ok ? parseNftListing(r.stdout) : null;
}

/** `nft list tables` as lines; REQUIRED: a failure is an error (else: null). */
export function listTables(exec: Exec, required: boolean): string[] | null {
  const r = exec.tryRun("nft", ["list", "tables"]);
  if (r.ok) return r.stdout.split("\n").map((l) => l.trim());
  if (required) throw new CommandError("nft list tables", r.code, r.stderr);
  return null;
}

/** True when the tables LISTED include NET's pre-0.2 table. */
export function hasOldTable(net: Network, listed: string[] | null): boolean {
  return !!listed?.includes(`table ip ${oldNftTable(net)}`);
}

/** `nft list tables` (unless LISTED already holds it), then the shared table if it is there. REQUIRED: a failure
 *  is an error (else: null, for the other backend's leftovers where nft is missing). */
export function lookNft(exec: Exec, net: Network, required: boolean, listed: string[] | null = null): NftLook | null {
  const tables = listed ?? listTables(exec, required);
  if (!tables) return null;
  const look: NftLook = { table: null, oldTable: hasOldTable(net, tables) };
  if (!tables.includes(`table inet ${NFT_TABLE}`)) return look;
  const args = ["list", "table", "inet", NFT_TABLE];
  const t = exec.tryRun("nft", args);
  if (!t.ok) throw new CommandError(showCommand("nft", args), t.code, t.stderr);
  look.table = parseNftListing(t.stdout);
  return look;
}
