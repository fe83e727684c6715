// The network-boot keys: `tftp_root` (dnsmasq's own read-only TFTP server, confined to that directory), the boot
// file per client architecture (`boot_file` for BIOS, `boot_file_efi` for UEFI x86-64, `boot_file_ipxe` for iPXE
// chain-loading) and `boot_server` (next-server: the boot files are on another TFTP server).
import type { NetBoot } from "./types.js";
import { isIPv4 } from "../ipv4.js";
import { badPath } from "./global.js";
import { show } from "./value.js";

/** The keys this file validates. */
export const BOOT_KEYS = ["tftp_root", "boot_file", "boot_file_efi", "boot_file_ipxe", "boot_server"] as const;

// A file name under the TFTP root as clients ask for it: relative, no "..", nothing dnsmasq's reader or a
// DHCP field would take differently.
const FILE = /^[A-Za-z0-9_+-][A-Za-z0-9._+/-]{0,126}$/;

/** Validate the network-boot keys in VALUES; problems go to BAD. HAS_DHCP: the network has dhcp_range. */
export function validateBoot(
  values: Record<string, string>,
  hasDhcp: boolean,
  bad: (key: string, message: string) => void,
): { boot?: NetBoot } {
  const set = BOOT_KEYS.filter((k) => values[k] !== undefined);
  if (set.length === 0) return {};
  if (!hasDhcp) {
    for (const k of set) bad(k, "needs dhcp_range (network boot starts with the DHCP answer of the network's dnsmasq)");
    return {};
  }
  let failed = false;
  const boot = bootValues(values, (k, m) => {
    failed = true;
    bad(k, m);
  });
  if (failed) return {};
  const why = incomplete(boot);
  if (!why) return { boot };
  bad(why[0] === "boot_file" ? set.find((k) => k.startsWith("boot_file"))! : why[0], why[1]);
  return {};
}

// Each boot key's value on its own; problems go to FAIL.
function bootValues(values: Record<string, string>, fail: (key: string, message: string) => void): NetBoot {
  const boot: NetBoot = {};
  if (values.tftp_root !== undefined) {
    const why = badRoot(values.tftp_root);
    if (why) fail("tftp_root", why);
    else boot.root = values.tftp_root.replace(/(.)\/+$/, "$1");
  }
  for (const [key, field] of [
    ["boot_file", "file"],
    ["boot_file_efi", "efi"],
    ["boot_file_ipxe", "ipxe"],
  ] as const) {
    const v = values[key];
    if (v === undefined) continue;
    if (!FILE.test(v) || v.split("/").includes("..") || v.includes("//"))
      fail(
        key,
        `${show(v)} is not a file name under the TFTP root, such as pxelinux.0 or efi/grubx64.efi (no leading /, no ..)`,
      );
    else boot[field] = v;
  }
  if (values.boot_server !== undefined) {
    if (!isIPv4(values.boot_server)) fail("boot_server", `${show(values.boot_server)} is not an IPv4 address`);
    else boot.server = values.boot_server;
  }
  return boot;
}

// Why a tftp_root value cannot be the directory dnsmasq's TFTP serves, or null.
function badRoot(root: string): string | null {
  const why =
    badPath(root) ?? (root.includes(",") ? `${show(root)} holds a comma, which dnsmasq reads as a separator` : null);
  if (why) return why;
  if (root === "/") return `"/" would serve the whole file system: name a directory of boot files, such as /srv/tftp`;
  return null;
}

// What BOOT lacks or has twice, as [key, message] ("boot_file": the first boot file key set), or null.
function incomplete(boot: NetBoot): [string, string] | null {
  const hasFile = boot.file !== undefined || boot.efi !== undefined || boot.ipxe !== undefined;
  if (boot.server !== undefined && boot.root !== undefined)
    return ["boot_server", "the boot files are either on this host (tftp_root) or on boot_server: drop one"];
  if (boot.server !== undefined && !hasFile)
    return ["boot_server", "needs boot_file (or boot_file_efi, boot_file_ipxe): the file to ask that server for"];
  if (hasFile && boot.root === undefined && boot.server === undefined)
    return ["boot_file", "needs tftp_root (files served by this host) or boot_server (another TFTP server)"];
  return null;
}
