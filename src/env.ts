// What kvmnet takes from its environment. QEMU passes its own environment to the hooks (libvirt passes only
// LC_ALL, PATH and HOME); the hooks run as root, so the one thing worth guarding is how commands are found.

/** The directories searched when PATH has no usable entry, and always appended: `ip`, `nft` and `dnsmasq`
 *  live in sbin, which a user's PATH often lacks. */
export const SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** PATH as kvmnet searches it: the absolute entries of PATH in their order (a relative entry such as "." or
 *  an empty one would make root run whatever the current directory holds), then the system directories. */
export function safePath(path: string | undefined): string {
  const given = (path ?? "").split(":").filter((d) => d.startsWith("/"));
  return [...new Set([...given, ...SYSTEM_PATH])].join(":");
}
