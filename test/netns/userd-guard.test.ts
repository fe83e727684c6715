// guard = yes with an ordinary user's tap: kvmnet-qemu tells kvmnet-userd the NIC's MAC from QEMU's arguments (or
// writes the one the service chose into them), and the service pins the guard to it, as a root VM's hook does.
// The "VM" is a relay run by kvmnet-qemu as nobody: it opens the user's tap as QEMU does and passes its frames to
// a guest namespace's own tap (eth0) over a unix socket, so the guest speaks through the user's tap.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { Netns, program } from "../helpers/netns.js";
import { asUser, startUserd, type Userd } from "../helpers/userd.js";

// MODE guest: make tap NAME in this namespace and listen on PATH; MODE vm: open tap NAME (QEMU's TUNSETIFF,
// IFF_TAP | IFF_NO_PI) and connect to PATH. Then frames go both ways until the other end goes.
const RELAY = `import fcntl,os,select,socket,struct,sys
mode,name,path=sys.argv[1:4]
fd=os.open("/dev/net/tun",os.O_RDWR)
fcntl.ioctl(fd,0x400454ca,struct.pack("16sH",name.encode(),0x1002))
s=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)
if mode=="guest":
    s.bind(path);os.chmod(path,0o666);s.listen(1);print("ready",flush=True);s,_=s.accept()
else:
    s.connect(path);print("ready",os.getpid(),flush=True)
while True:
    r,_,_=select.select([fd,s],[],[])
    if fd in r: s.send(os.read(fd,65536))
    if s in r:
        d=s.recv(65536)
        if not d: break
        os.write(fd,d)`;

const MAC = "52:54:00:00:0a:01";
let lab: Lab;
let userd: Userd;
let dir: string;
const stops: (() => void)[] = [];
const qemu = (args: string[], timeout?: number) =>
  asUser(
    lab.host,
    "nobody",
    process.execPath,
    [program("kvmnet-qemu"), ...args],
    { KVMNET_USER_SOCKET: userd.socket },
    timeout,
  );
const until = async (what: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 600 && !(await what()); i++) await new Promise((r) => setTimeout(r, 100));
};

beforeEach(async () => {
  lab = await makeLab({
    section: (br) => natSection(br, "teardown = when-idle\nguard = yes\nallow_users = nobody\n"),
  });
  userd = await startUserd(lab.host, lab.conf.file, `${lab.conf.dir}/user.sock`);
  dir = mkdtempSync(join(tmpdir(), "kvmnet-relay-"));
  chmodSync(dir, 0o755);
}, 60_000);
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) stop();
  await userd?.stop();
  await lab?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("kvmnet-userd on a guard = yes network", () => {
  it("pins the guard to the MAC in QEMU's arguments: the guest gets its lease, forged MAC and IP are dropped", async () => {
    const g = await Netns.create("kg");
    lab.guests.push(g);
    const sock = join(dir, "relay.sock");
    const guest = g.spawn("python3", ["-c", RELAY, "guest", "eth0", sock]);
    stops.push(() => guest.kill("SIGKILL"));
    let said = "";
    guest.stdout!.on("data", (d: Buffer) => (said += d.toString()));
    await until(() => said.includes("ready"));
    await g.sh(`ip link set eth0 address ${MAC} && ip link set eth0 up`);
    // kvmnet-qemu as nobody runs the relay with QEMU's NIC options after it, as QEMU gets them.
    const vm = qemu(
      [
        "--",
        "python3",
        "-c",
        RELAY,
        "vm",
        "{tap}",
        sock,
        "-netdev",
        "tap,id=n0,ifname={tap}",
        "-device",
        `virtio-net-pci,netdev=n0,mac=${MAC}`,
      ],
      180_000,
    );
    let vmSaid = "";
    vm.stdout!.on("data", (d: Buffer) => (vmSaid += d.toString()));
    void vm.then(() => (vmSaid += "\nexited"));
    await until(() => vmSaid.includes("\n"));
    const pid = /^ready (\d+)$/m.exec(vmSaid)?.[1];
    if (pid === undefined) expect.fail(`the VM did not start: ${vmSaid} ${String((await vm).stderr)}`);
    stops.push(() => {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e; // it ended with its guest's side: fine
      }
    });
    expect(userd.log()).toContain(`ku65534n0: made for nobody (uid 65534) on nat0, guarded for ${MAC}`);
    expect(await lab.host.sh("nft list map bridge kvmnet guard_iif")).toContain('"ku65534n0"');

    const lease = await lab.dhcp(g);
    expect(lease?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    expect(await lab.ping(g, "192.0.2.1")).toBe(true);
    // The lease reaches the guard's set through dnsmasq's lease event, a moment after the guest has it.
    const ips = () => lab.host.sh("nft list set bridge kvmnet guard_ips");
    await until(async () => (await ips()).includes(`${MAC} . ${lease!.ip}`));
    expect(await ips()).toContain(`${MAC} . ${lease!.ip}`);
    // A forged source IPv4 address, then a forged source MAC: both dropped at the user's tap.
    await g.sh("ip addr add 192.0.2.77/24 dev eth0");
    const forgedIp = await g.tryRun("busybox", ["ping", "-c", "1", "-W", "2", "-I", "192.0.2.77", "192.0.2.1"], {
      timeout: 10_000,
    });
    expect(forgedIp.exitCode).not.toBe(0);
    await g.sh("ip link set eth0 address 52:54:00:00:0d:0d");
    expect(await lab.ping(g, "192.0.2.1")).toBe(false);
    await g.sh(`ip link set eth0 address ${MAC}`);
    expect(await lab.ping(g, "192.0.2.1")).toBe(true);

    // A second VM whose NIC has no mac=: the service chooses one, kvmnet-qemu writes it into the NIC's -device,
    // and the guard is pinned to it.
    const second = await qemu(["--", "sh", "-c", 'echo "$@"', "sh", "-device", "virtio-net-pci,netdev=kvmnet0"]);
    expect(second.exitCode, String(second.stderr)).toBe(0);
    const chosen =
      /-device virtio-net-pci,netdev=kvmnet0,mac=([0-9a-f:]{17}) -netdev tap,id=kvmnet0,ifname=ku65534n1,/.exec(
        String(second.stdout),
      )?.[1];
    expect(chosen, String(second.stdout)).toBeDefined();
    expect(parseInt(chosen!.slice(0, 2), 16) & 3).toBe(2); // locally administered, unicast
    expect(userd.log()).toContain(`ku65534n1: made for nobody (uid 65534) on nat0, guarded for ${chosen}`);
  }, 300_000);

  it("real QEMU (stopped before boot) takes the MAC kvmnet-qemu wrote, and the guard holds the same one", async () => {
    // QEMU opens the user's tap as nobody; its monitor lists the NIC's MAC, and it quits.
    const r = await qemu(
      [
        "--",
        "sh",
        "-c",
        'printf "info network\\nquit\\n" | qemu-system-x86_64 -nodefaults -display none -machine pc,accel=tcg -S -monitor stdio "$@"',
        "sh",
        "-device",
        "virtio-net-pci,netdev=kvmnet0",
      ],
      180_000,
    );
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const nic = /macaddr=([0-9a-f:]{17})/.exec(String(r.stdout))?.[1];
    expect(nic, String(r.stdout)).toBeDefined();
    expect(userd.log()).toContain(`ku65534n0: made for nobody (uid 65534) on nat0, guarded for ${nic}`);
  }, 240_000);

  it("refuses a MAC that is not a NIC's (multicast) with exit 2, and makes no tap", async () => {
    const r = await qemu(["--", "true", "-nic", "tap,ifname={tap},mac=01:00:5e:00:00:01"]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain("mac 01:00:5e:00:00:01 is a multicast address, not a NIC's");
    expect(await lab.host.sh("ls /sys/class/net | grep '^ku' || true")).toBe("");
  });
});
