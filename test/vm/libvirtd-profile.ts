// Debian's real AppArmor profile for libvirtd (/etc/apparmor.d/usr.sbin.libvirtd of libvirt-daemon-system),
// fetched once with `apt-get download` and unpacked with dpkg-deb into .cache/: installing that package on
// the host would start and define things there, and the tests only need the file.
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { ROOT } from "../helpers/netns.js";

const DIR = join(ROOT, ".cache", "libvirtd-profile");

/** The unpacked libvirt-daemon-system package: { deb, root } (root/etc/apparmor.d/usr.sbin.libvirtd is the profile). */
export async function libvirtdProfilePackage(): Promise<{ deb: string; root: string; profile: string }> {
  mkdirSync(DIR, { recursive: true });
  let deb = readdirSync(DIR).find((n) => /^libvirt-daemon-system_.*\.deb$/.test(n));
  if (!deb) {
    // apt drops to _apt for downloads; a directory _apt cannot write makes it warn and download as root.
    await execa("apt-get", ["download", "-q", "libvirt-daemon-system"], { cwd: DIR });
    deb = readdirSync(DIR).find((n) => /^libvirt-daemon-system_.*\.deb$/.test(n))!;
  }
  const root = join(DIR, "root");
  const profile = join(root, "etc/apparmor.d/usr.sbin.libvirtd");
  if (!existsSync(profile)) await execa("dpkg-deb", ["-x", join(DIR, deb), root]);
  return { deb: join(DIR, deb), root, profile };
}
