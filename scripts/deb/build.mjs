// `npm run deb`: release/kvmnet_VERSION_ARCH.deb from release/kvmnet (run `npm run binaries` first), with
// dpkg-deb. Usage: node scripts/deb/build.mjs [BINARY [OUT.deb]]
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { libraryDepends } from "./shlibs.mjs";

const ROOT = resolve(import.meta.dirname, "../..");
const HERE = import.meta.dirname;
const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const arch = { x64: "amd64", arm64: "arm64" }[process.arch] ?? process.arch; // the binary is this node's copy
const binary = resolve(process.argv[2] ?? join(ROOT, "release/kvmnet"));
const out = resolve(process.argv[3] ?? join(ROOT, `release/kvmnet_${version}_${arch}.deb`));
// The hook names a package puts in /etc. Not qemu-ifup/qemu-ifdown: QEMU's own package ships those.
const ETC_HOOKS = ["qemu-natup", "qemu-natdown", "qemu-ifup-bridge", "qemu-ifup-isolated"];
// Where the one executable goes (relative to /).
const PROGRAM = "usr/bin/kvmnet";

if (!existsSync(binary)) {
  console.error(`deb: ${binary} is missing: run npm run binaries first`);
  process.exit(1);
}

const stage = mkdtempSync(join(dirname(out), ".deb-stage-"));
try {
  const put = (path, data, mode = 0o644) => {
    const p = join(stage, path);
    mkdirs(dirname(p));
    writeFileSync(p, data);
    chmodSync(p, mode);
  };
  const link = (path, target) => {
    mkdirs(dirname(join(stage, path)));
    symlinkSync(target, join(stage, path));
  };

  // The program itself is /usr/bin/kvmnet, not a link to it: AppArmor checks an exec against the resolved
  // path, and Debian's and Ubuntu's libvirtd profile lets libvirtd run scripts (<script path='/etc/qemu-natup'/>)
  // only from /bin, /sbin, /usr/bin, /usr/sbin (PUx), /usr/lib/libvirt and /etc/libvirt/hooks. Under
  // /usr/lib/kvmnet every VM start was refused ("Permission denied"); here no profile snippet, no reload.
  mkdirs(join(stage, "usr/bin"));
  copyFileSync(binary, join(stage, PROGRAM));
  chmodSync(join(stage, PROGRAM), 0o755);
  // The old path stays as a link, for admins' own PROGRAM@NET links made to it (it resolves to /usr/bin).
  link("usr/lib/kvmnet/kvmnet", "../../bin/kvmnet"); // relative within /usr, as Debian policy asks
  for (const name of ETC_HOOKS) link(`etc/${name}`, `/${PROGRAM}`);
  // QEMU as an ordinary user: the wrapper users run (the service itself is `kvmnet userd`, from its unit).
  link("usr/bin/kvmnet-qemu", "kvmnet");
  put("etc/kvmnet.conf", readFileSync(join(ROOT, "etc-templates/kvmnet.conf")));
  put("etc/NetworkManager/conf.d/kvmnet.conf", readFileSync(join(HERE, "networkmanager.conf")));
  put("lib/systemd/system/kvmnet.service", readFileSync(join(HERE, "kvmnet.service")));
  put("lib/systemd/system/kvmnet-reapply.service", readFileSync(join(HERE, "kvmnet-reapply.service")));
  put("lib/systemd/system/kvmnet-watch.service", readFileSync(join(HERE, "kvmnet-watch.service")));
  put("lib/systemd/system/kvmnet-userd.socket", readFileSync(join(HERE, "kvmnet-userd.socket")));
  put("lib/systemd/system/kvmnet-userd.service", readFileSync(join(HERE, "kvmnet-userd.service")));
  put("usr/share/man/man8/kvmnet.8.gz", gzipSync(readFileSync(join(ROOT, "man/kvmnet.8")), { level: 9 }));
  put("usr/share/man/man5/kvmnet.conf.5.gz", gzipSync(readFileSync(join(ROOT, "man/kvmnet.conf.5")), { level: 9 }));
  put("usr/share/doc/kvmnet/copyright", readFileSync(join(HERE, "copyright")));

  const files = walk(stage);
  const installedKiB = Math.ceil(files.reduce((n, f) => n + lstatSync(join(stage, f)).size, 0) / 1024);
  const control = readFileSync(join(HERE, "control"), "utf8")
    .replace("@VERSION@", version)
    .replace("@INSTALLED_SIZE@", String(installedKiB))
    .replace("@LIBRARIES@", libraryDepends(binary).join(", "))
    .replace(/^Architecture: .*$/m, `Architecture: ${arch}`);
  put("DEBIAN/control", control);
  put("DEBIAN/conffiles", readFileSync(join(HERE, "conffiles")));
  for (const s of ["preinst", "postinst", "prerm", "postrm"]) put(`DEBIAN/${s}`, readFileSync(join(HERE, s)), 0o755);
  const sums = files
    .filter((f) => !f.startsWith("etc/") && lstatSync(join(stage, f)).isFile())
    .map(
      (f) =>
        `${createHash("md5")
          .update(readFileSync(join(stage, f)))
          .digest("hex")}  ${f}\n`,
    )
    .join("");
  put("DEBIAN/md5sums", sums);

  chmodSync(stage, 0o755);
  const tmp = `${out}.tmp`;
  // xz -1: the package is mostly node's 99 MB binary; -1 packs it to 27 MB in a quarter of the time -6 takes
  // (24 MB), and every dpkg reads xz.
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zxz", "-z1", "--build", stage, tmp], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  renameSync(tmp, out);
  console.log(`built ${relative(process.cwd(), out) || out} (${(statSync(out).size / 1e6).toFixed(0)} MB)`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

// mkdir -p with 0755 whatever the umask (dpkg-deb packs the modes as they are).
function mkdirs(dir) {
  if (existsSync(dir)) return;
  mkdirs(dirname(dir));
  mkdirSync(dir);
  chmodSync(dir, 0o755);
}

// Every file and link under DIR, as paths relative to it.
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p, base) : [relative(base, p)];
  });
}
