// A tap as QEMU makes it: opened on /dev/net/tun by a live process, not persistent (gone when the process
// exits), unlike `ip tuntap add`. Held by a small perl process (perl-base is in every Debian) in the namespace.
import type { Netns } from "./netns.js";

// TUNSETIFF with a whole struct ifreq (40 bytes): the name, then IFF_TAP | IFF_NO_PI.
const HOLD = `open(my $t, "+<", "/dev/net/tun") or die "open: $!";
my $ifr = pack("a16 s x22", $ARGV[0], 0x1002); ioctl($t, 0x400454ca, $ifr) or die "TUNSETIFF: $!";
$| = 1; print "ready\\n"; <STDIN>;`;

/** Create tap NAME in NS the way QEMU does; resolves with a function that closes it (by the holder's pid). */
export async function qemuLikeTap(ns: Netns, name: string): Promise<() => void> {
  const child = ns.spawn("perl", ["-e", HOLD, name]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) =>
      reject(new Error(`tap holder for ${name} exited (${code}): ${String(child.stderr ?? "")}`)),
    );
  });
  return () => {
    child.kill("SIGTERM");
  };
}
