// A real libvirtd for the e2e case, sealed off from the host: it runs inside a test network namespace and a
// private mount namespace whose /etc and /var are overlays on a tmpfs and whose /run is a fresh tmpfs, so the
// domains, qemu.conf, the libvirt-qemu user, /etc/kvmnet.conf, /run/kvmnet and /var/lib/kvmnet it sees never
// reach the host. What libvirt 9.0 needs here (found by running it): the user and group libvirt-qemu to exist
// (it resolves its built-in default before reading qemu.conf's user = "root"); no D-Bus (it only disables its
// firewalld support), no systemd-machined, no virtlogd (stdio_handler = "file"), no cgroups
// (cgroup_controllers = [ ], which also keeps it out of the host's cgroup tree), no security driver, no
// /dev/kvm (domain type='qemu' runs TCG).
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import type { Netns } from "../../helpers/netns.js";

/** The PATH a systemd-started libvirtd has on Debian; libvirt hands it to the scripts it runs. */
export const DAEMON_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const QEMU_CONF = `user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
remember_owner = 0
`;
// util.command at debug level logs every command libvirt runs ("About to run ..."), the hooks with their argument.
const LIBVIRTD_CONF = `log_filters = "1:util.command"
log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
`;

/** A running libvirtd in its own namespaces. */
export interface Libvirt {
  /** The holder process whose mount namespace libvirtd, QEMU and the hooks share. */
  holder: number;
  libvirtd: number;
  /** Run a shell script in the private mount namespace and the test network namespace. */
  sh(script: string): Promise<{ code: number | undefined; out: string; err: string }>;
  /** Run virsh against this libvirtd. */
  virsh(...args: string[]): Promise<{ code: number | undefined; out: string; err: string }>;
  /** A path of the private mount namespace, readable from the test. */
  path(p: string): string;
  /** The text of a file in the private mount namespace ("" if it is missing). */
  read(p: string): string;
  /** Destroy every domain, stop libvirtd and everything left in the network namespace. */
  stop(): Promise<void>;
}

/** Start libvirtd in HOST's network namespace with a private /etc, /var and /run. */
export async function startLibvirt(host: Netns): Promise<Libvirt> {
  const tmp = mkdtempSync(join(tmpdir(), "kvmnet-libvirt-"));
  // ip netns exec also mounts the namespace's own /sys (the hooks read /sys/class/net); unshare execs sleep.
  const holder = execa(
    "ip",
    ["netns", "exec", host.name, "unshare", "-m", "--propagation", "private", "sleep", "infinity"],
    { reject: false },
  );
  const hpid = holder.pid!;
  await until(
    () => {
      try {
        return readlinkSync(`/proc/${hpid}/exe`).endsWith("/sleep");
      } catch {
        return false;
      }
    },
    5000,
    "the namespace holder",
  );
  const sh = async (script: string) => {
    const r = await execa("nsenter", ["-t", String(hpid), "-m", "-n", "--", "sh", "-c", script], {
      env: { PATH: DAEMON_PATH },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
  };
  const setup = await sh(`set -e
    mount -t tmpfs -o size=512m,mode=0755 tmpfs ${tmp}
    mkdir ${tmp}/etc ${tmp}/etc.work ${tmp}/var ${tmp}/var.work
    mount -t overlay overlay -o lowerdir=/etc,upperdir=${tmp}/etc,workdir=${tmp}/etc.work /etc
    mount -t overlay overlay -o lowerdir=/var,upperdir=${tmp}/var,workdir=${tmp}/var.work /var
    mount -t tmpfs -o mode=0755 tmpfs /run
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    getent passwd libvirt-qemu >/dev/null || useradd -r -M -N -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
    mkdir -p /etc/libvirt /var/log/libvirt
    cat > /etc/libvirt/qemu.conf <<'EOF'
${QEMU_CONF}EOF
    cat > /etc/libvirt/libvirtd.conf <<'EOF'
${LIBVIRTD_CONF}EOF`);
  if (setup.code !== 0) {
    holder.kill("SIGKILL");
    throw new Error(`libvirt namespace setup failed: ${setup.err}`);
  }
  // nsenter and env exec in place: the pid is libvirtd's. libvirt passes scripts LC_ALL, PATH and HOME only.
  const daemon: ResultPromise = execa(
    "nsenter",
    ["-t", String(hpid), "-m", "-n", "--", "env", "-i", `PATH=${DAEMON_PATH}`, "HOME=/root", "libvirtd"],
    { reject: false, extendEnv: false },
  );
  const virsh = async (...args: string[]) =>
    await sh(`exec virsh -q -c qemu:///system ${args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ")}`);
  const path = (p: string) => `/proc/${hpid}/root${p}`;
  const lv: Libvirt = {
    holder: hpid,
    libvirtd: daemon.pid!,
    sh,
    virsh,
    path,
    read: (p) => (existsSync(path(p)) ? readFileSync(path(p), "utf8") : ""),
    async stop() {
      for (const name of (await virsh("list", "--name")).out.split("\n").filter(Boolean)) await virsh("destroy", name);
      daemon.kill("SIGTERM");
      await Promise.race([daemon, new Promise((r) => setTimeout(r, 10_000))]);
      daemon.kill("SIGKILL");
      // What is left in the test's network namespace is this case's (QEMU, a hook's dnsmasq): by pid.
      const left = (await execa("ip", ["netns", "pids", host.name], { reject: false })).stdout
        .split("\n")
        .filter(Boolean)
        .map(Number);
      for (const pid of left)
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      holder.kill("SIGKILL");
      await holder;
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  try {
    await until(async () => (await virsh("version")).code === 0, 30_000, "libvirtd's socket");
  } catch (e) {
    await lv.stop();
    throw new Error(`${(e as Error).message}\n${String((await daemon).stderr)}`, { cause: e });
  }
  return lv;
}

// Poll FN every 100 ms until it is true, or throw after MS.
async function until(fn: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
