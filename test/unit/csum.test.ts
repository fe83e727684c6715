// kvmnet's DHCP checksum filter in `tc filter show` listings: found only at kvmnet's own preference (68).
import { describe, expect, it } from "vitest";
import { csumInListing } from "../../src/observe/csum.js";

// `tc filter show dev kbnat egress` in Debian 12's kernel (test/vm/dhcp-csum.test.ts): an admin's u32 filter at
// pref 5, made first (so its hash table is 800:), and kvmnet's at pref 68.
const ADMIN = `filter protocol ip pref 5 u32 chain 0 
filter protocol ip pref 5 u32 chain 0 fh 800: ht divisor 1 
filter protocol ip pref 5 u32 chain 0 fh 800::800 order 2048 key ht 800 bkt 0 *flowid 1:5 not_in_hw 
  match 00060000/00ff0000 at 8
`;
const OURS = `filter protocol ip pref 68 u32 chain 0 
filter protocol ip pref 68 u32 chain 0 fh 801: ht divisor 1 
filter protocol ip pref 68 u32 chain 0 fh 801::800 order 2048 key ht 801 bkt 0 terminal flowid not_in_hw 
  match 00110000/00ff0000 at 8
  match 00000044/0000ffff at 20
\taction order 1: csum (udp) action pass
\tindex 1 ref 1 bind 1

`;
const at = (pref: number, text: string) => text.replaceAll("pref 68 ", `pref ${pref} `);

describe("kvmnet's checksum filter in a tc listing", () => {
  it("is found at pref 68, beside an admin's filters", () => {
    expect(csumInListing(ADMIN + OURS)).toBe(true);
    expect(csumInListing(OURS)).toBe(true);
  });
  it("is not found when the listing is empty or has only an admin's filter", () => {
    expect(csumInListing("")).toBe(false);
    expect(csumInListing(ADMIN)).toBe(false);
  });
  it("a csum action at another preference is someone else's, even after a pref 68 filter without one", () => {
    expect(csumInListing(at(100, OURS))).toBe(false);
    expect(csumInListing(at(68, ADMIN.replaceAll("pref 5 ", "pref 68 ")) + at(100, OURS))).toBe(false);
  });
});
