// The QEMU command line kvmnet-qemu runs (pure): the tap's name put in, the NIC's MAC read from it for the guard,
// and a MAC kvmnet-userd chose written into it when it gave none.
import { macFromQemuArgs } from "../../observe/qemu-mac.js";

/** The -netdev kvmnet-qemu adds when ARGS name no {tap}. */
export const NETDEV_ID = "kvmnet0";

/** QEMU's ARGS with the tap TAP: each {tap} replaced, or a -netdev tap (id kvmnet0) added when there is none. */
export function withTap(args: string[], tap: string): string[] {
  return args.some((a) => a.includes("{tap}"))
    ? args.map((a) => a.replaceAll("{tap}", tap))
    : [...args, "-netdev", `tap,id=${NETDEV_ID},ifname=${tap},script=no,downscript=no`];
}

/** The MAC ARGS give the NIC on the tap kvmnet-qemu is asking for (named {tap} in them, or NAMED when --tap gave
 *  one and ARGS spell it out), lower-case; undefined when they give none. */
export function nicMac(args: string[], named?: string): string | undefined {
  const draft = withTap(args, "{tap}");
  return macFromQemuArgs(draft, "{tap}") ?? (named ? macFromQemuArgs(draft, named) : null) ?? undefined;
}

/** ARGV with mac=MAC added to the NIC on TAP that has none (-nic tap,ifname=TAP, or the -device whose netdev= is a
 *  -netdev with ifname=TAP); PLACED is false when ARGV has no such NIC. */
export function withMac(argv: string[], tap: string, mac: string): { argv: string[]; placed: boolean } {
  const opts = (v: string) => new Map(v.split(",").map((p) => [p.split("=")[0]!, p.slice(p.indexOf("=") + 1)]));
  const ids = argv
    .filter((a, i) => argv[i - 1] === "-netdev" && opts(a).get("ifname") === tap)
    .map((a) => opts(a).get("id"));
  let placed = false;
  const out = argv.map((a, i) => {
    const flag = argv[i - 1];
    const o = opts(a);
    const mine =
      (flag === "-nic" && o.get("ifname") === tap) ||
      (flag === "-device" && o.has("netdev") && ids.includes(o.get("netdev")));
    if (!mine || o.has("mac")) return a;
    placed = true;
    return `${a},mac=${mac}`;
  });
  return { argv: out, placed };
}
