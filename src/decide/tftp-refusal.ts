// Deciding whether a network's TFTP root can be served: dnsmasq drops root for nobody before it reads a file.
import type { Config, Network } from "../config/types.js";
import type { ConfigProblem } from "../errors.js";
import type { DnsmasqState } from "../observe/dnsmasq-state.js";

/** Why NET must not be brought up: its tftp_root is missing, or dnsmasq as nobody could not read it and every
 *  network boot would fail with "file not found" (null when it can, or when NET has no tftp_root). */
export function tftpRefusal(config: Config, net: Network, state: DnsmasqState | null): ConfigProblem | null {
  const root = net.boot?.root;
  const t = state?.tftpRoot;
  if (!root || !t) return null;
  const at = { file: config.file, line: net.lines.tftp_root ?? 0, key: "tftp_root" };
  if (!t.exists)
    return {
      ...at,
      message: `${root}: no such directory (dnsmasq would not start): create it and put the boot files in it`,
    };
  const u = t.unreadable;
  if (!u) return null;
  const mode = u.mode.toString(8).padStart(4, "0");
  const blocker = u.blocker.replace(/\/\.$/, "");
  return {
    ...at,
    message:
      `${root}: dnsmasq serves TFTP as nobody, and ${blocker} (mode ${mode}) does not let it ` +
      `${u.kind === "dir" ? "in" : "list the directory"}: no guest could fetch a boot file. ` +
      `Fix: chmod o+rx ${blocker} (the files in it need o+r), or choose a root such as /srv/tftp`,
  };
}
