// Reading `nft list` output of kvmnet's table back into chains, map elements and named counters (the text nft
// prints).
import type { NftElement } from "./render.js";

/** Chains (name → rule lines, trimmed, base chain spec included), map elements and named counters found in TEXT. */
export interface NftListing {
  chains: Record<string, string[]>;
  elements: NftElement[];
  counters: string[];
}

/** Parse `nft list table|chain|map` output (one or more `table ... { }` blocks). */
export function parseNftListing(text: string): NftListing {
  const out: NftListing = { chains: {}, elements: [], counters: [] };
  let chain: string | null = null;
  let map: string | null = null;
  let inElements = false;
  for (const line of text.split("\n")) {
    const c = /^\tchain (\S+) \{$/.exec(line);
    const m = /^\tmap (\S+) \{$/.exec(line);
    const k = /^\tcounter (\S+) \{$/.exec(line);
    if (k) out.counters.push(k[1]!);
    if (c) {
      chain = c[1]!;
      out.chains[chain] = [];
      continue;
    }
    if (m) {
      map = m[1]!;
      continue;
    }
    if (line === "\t}") {
      chain = map = null;
      inElements = false;
      continue;
    }
    if (chain && line.trim()) out.chains[chain]!.push(line.trim());
    if (!map) continue;
    if (/^\t\telements = \{/.test(line)) inElements = true;
    if (!inElements) continue;
    // Elements are printed `KEY : jump CHAIN`, comma separated, wrapped over lines. A key is an interface name
    // in quotes, an IPv4 or IPv6 prefix, or a concatenation such as `tcp . 8080`.
    for (const e of line.matchAll(/("[^"]*"|[0-9A-Za-z.:/ ]+?) : (?:jump|goto) ([^\s,}]+)/g))
      out.elements.push({ map, key: e[1]!.replace(/^.*\{ /, "").trim(), chain: e[2]! });
    if (/\}$/.test(line)) inElements = false;
  }
  return out;
}
