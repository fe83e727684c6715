// Observing kvmnet's firewall objects for one network. On the warm path one process: with nftables a quick look
// at just the network's "from" chain and the map that leads to it (`nft list chain ...; list map ...`, whose
// cost does not grow with the number of networks), with iptables one `iptables-save`. Only when that does not
// show the network in place does kvmnet look further (the whole table, older per-network tables, and the other
// backend's rules, which a switch of `firewall =` leaves behind): changes follow then anyway.
import type { Firewall, Network } from "../config/types.js";
import { CommandError } from "../errors.js";
import { showCommand, type Exec } from "../host/exec.js";
import { nftInPlace } from "./nft/diff.js";
import { iptablesUpScript } from "./iptables/diff.js";
import { renderIptables } from "./iptables/render.js";
import { NFT_MAPS, NFT_TABLE, nftChains, oldNftTable } from "../core/names.js";
import { renderNft } from "./nft/render.js";
import { observeDockerUser, type DockerUserState } from "./docker.js";
import { parseIptablesSave, type IptSave } from "./iptables/save.js";
import { parseNftListing, type NftListing } from "./nft/listing.js";

/** The shared nft table as found (null: absent), and whether the network's pre-0.2 table `ip kvmnet-NET` is. */
export interface NftLook {
  table: NftListing | null;
  oldTable: boolean;
}

/** What was found of a network's rules. QUICK: the nft quick look (null when it failed: something is missing).
 *  FULL: the thorough look, taken only when the quick one did not show the network in place. OTHER: the other
 *  backend's state (null where its tool is missing), taken at the same time. DOCKER: Docker's DOCKER-USER chains,
 *  read with the thorough look or when asked for (src/firewall/docker.ts). */
export type FirewallState = (
  | { backend: "nftables"; quick: NftListing | null; full?: NftLook; other?: IptSave | null }
  | { backend: "iptables"; save: IptSave; other?: NftLook | null }
) & { docker?: DockerUserState };

/** Read what exists of NET's rules with the configured backend. THOROUGH (kvmnet up and down, a network's first
 *  or last hook): also DOCKER-USER, and kvmnet 0.1's table of NET, even when the network is in place. */
export function observeFirewall(exec: Exec, backend: Firewall, net: Network, thorough = false): FirewallState {
  const state = lookFirewall(exec, backend, net, thorough);
  if (thorough || "full" in state || "other" in state) state.docker = observeDockerUser(exec);
  return state;
}

function lookFirewall(exec: Exec, backend: Firewall, net: Network, thorough: boolean): FirewallState {
  if (backend === "nftables") {
    const args = [
      "list",
      "chain",
      "inet",
      NFT_TABLE,
      nftChains(net).from,
      ";",
      "list",
      "map",
      "inet",
      NFT_TABLE,
      NFT_MAPS.from,
    ];
    const r = exec.tryRun("nft", args);
    const quick = r.ok ? parseNftListing(r.stdout) : null;
    const want = renderNft(net);
    // kvmnet 0.1 run after this version (a downgrade and back) makes NET's old table again beside the shared
    // one, which the quick look cannot show: in one nft 1.0.6 run, `list tables` shows only the tables the run's
    // other commands name.
    const tables = thorough ? listTables(exec, true) : null;
    const old = !!tables?.includes(`table ip ${oldNftTable(net)}`);
    if (quick && want && nftInPlace(net, want, quick) && !old) return { backend, quick };
    return { backend, quick, full: lookNft(exec, net, true, tables)!, other: lookIptables(exec, false) };
  }
  const save = lookIptables(exec, true)!;
  const want = renderIptables(net);
  if (want && iptablesUpScript(net, want, save) === "") return { backend, save };
  return { backend, save, other: lookNft(exec, net, false) };
}

// `nft list tables` as lines; REQUIRED: a failure is an error (else: null).
function listTables(exec: Exec, required: boolean): string[] | null {
  const r = exec.tryRun("nft", ["list", "tables"]);
  if (r.ok) return r.stdout.split("\n").map((l) => l.trim());
  if (required) throw new CommandError("nft list tables", r.code, r.stderr);
  return null;
}

// `nft list tables` (unless LISTED already holds it), then the shared table if it is there. REQUIRED: a failure is
// an error (else: null).
function lookNft(exec: Exec, net: Network, required: boolean, listed: string[] | null = null): NftLook | null {
  const tables = listed ?? listTables(exec, required);
  if (!tables) return null;
  const look: NftLook = { table: null, oldTable: tables.includes(`table ip ${oldNftTable(net)}`) };
  if (!tables.includes(`table inet ${NFT_TABLE}`)) return look;
  const args = ["list", "table", "inet", NFT_TABLE];
  const t = exec.tryRun("nft", args);
  if (!t.ok) throw new CommandError(showCommand("nft", args), t.code, t.stderr);
  look.table = parseNftListing(t.stdout);
  return look;
}

// One iptables-save. REQUIRED: a failure is an error (else, for the other backend's leftovers: null).
function lookIptables(exec: Exec, required: boolean): IptSave | null {
  const r = exec.tryRun("iptables-save", []);
  if (r.ok) return parseIptablesSave(r.stdout);
  if (required) throw new CommandError("iptables-save", r.code, r.stderr);
  return null;
}
