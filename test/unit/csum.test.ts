// kvmnet's DHCP checksum filter in `tc filter show` listings (found only at kvmnet's own preference, 68), and
// whether the kernel can carry it.
import { describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { csumInListing, csumSupported } from "../../src/observe/csum-support.js";

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

describe("whether the kernel can carry the filter (act_csum and cls_u32)", () => {
  const R = "/lib/modules/6.1.0-56-amd64";
  const kernel = (files: Record<string, string | Buffer>, loaded: string[] = []) =>
    csumSupported(
      (p) => {
        const f = { "/proc/sys/kernel/osrelease": "6.1.0-56-amd64\n", ...files }[p];
        return f === undefined ? null : Buffer.from(f);
      },
      (p) => loaded.includes(p),
    );
  const config = (text: string) => gzipSync(text);
  it("loaded, or in the module tree (built in or as modules, compressed or not)", () => {
    expect(kernel({}, ["/sys/module/act_csum", "/sys/module/cls_u32"])).toBe(true);
    expect(
      kernel({
        [`${R}/modules.builtin`]: "kernel/net/sched/cls_u32.ko\n",
        [`${R}/modules.dep`]: "kernel/net/sched/act_csum.ko.xz: kernel/lib/libcrc32c.ko.xz\n",
      }),
    ).toBe(true);
    expect(kernel({ [`${R}/modules.dep`]: "kernel/net/sched/act_csum.ko:\n" })).toBe(false);
  });
  it("a kernel with no module tree: its own config says built in (=y); a module it cannot load (=m) does not count", () => {
    expect(kernel({ "/proc/config.gz": config("CONFIG_NET_CLS_U32=y\nCONFIG_NET_ACT_CSUM=y\n") })).toBe(true);
    // This machine's kernel: u32 built in, no act_csum.
    expect(kernel({ "/proc/config.gz": config("CONFIG_NET_CLS_U32=y\n# CONFIG_NET_ACT_CSUM is not set\n") })).toBe(
      false,
    );
    expect(kernel({ "/proc/config.gz": config("CONFIG_NET_CLS_U32=y\nCONFIG_NET_ACT_CSUM=m\n") })).toBe(false);
    expect(kernel({})).toBe(false);
    expect(kernel({ "/proc/config.gz": "not gzip" })).toBe(false);
  });
});
