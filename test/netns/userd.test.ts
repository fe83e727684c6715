// kvmnet-userd in a real namespace, asked by ordinary users (setpriv as nobody, daemon and bin): an allowed user's
// tap is theirs and on the bridge while their command runs, and gone (with the when-idle network) after; refusals
// of a user not allowed, of another user's tap, of malformed, forged, oversized, slow and flooding requests, each
// changing nothing, with the service serving on.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execa } from "execa";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";
import { asUser, rawAsk, startUserd, type Userd } from "../helpers/userd.js";

let lab: Lab;
let userd: Userd;
const qemu = (user: string, args: string[], timeout?: number) =>
  asUser(
    lab.host,
    user,
    process.execPath,
    [program("kvmnet-qemu"), ...args],
    { KVMNET_USER_SOCKET: userd.socket },
    timeout,
  );
const links = async () => (await lab.host.sh("ip -o link show | cut -d: -f2 | sort")).trim();
const gone = async (path: string) => {
  for (let i = 0; i < 600; i++) {
    if ((await lab.host.tryRun("test", ["-e", path])).exitCode !== 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

beforeEach(async () => {
  // nobody by name, daemon by its group; bin is not allowed.
  lab = await makeLab({
    section: (br) =>
      natSection(br, "teardown = when-idle\nallow_users = nobody\nallow_groups = daemon\ntap.kvfast0.rate = 10mbit\n") +
      // Root's network whose hooks take taps named kvsec*: no user's tap may be named so.
      "[sec]\nmode = isolated\nbridge = kvsec9\ntaps = kvsec*\n",
  });
  userd = await startUserd(lab.host, lab.conf.file, `${lab.conf.dir}/user.sock`);
}, 60_000);
afterEach(async () => {
  await userd?.stop();
  await lab?.destroy();
});

// N connections at once that send LINE (or nothing) and hold on for HOLD ms after the last answer.
const FLOOD = `const net=require("net");const [path,n,line,hold]=process.argv.slice(1);const c={ok:0,busy:0,slow:0,other:0};let left=+n;
const done=()=>{if(--left===0){console.log(JSON.stringify(c));setTimeout(()=>process.exit(0),+hold)}};
for(let i=0;i<+n;i++){const s=net.connect(path);let b="";s.on("connect",()=>{if(line)s.write(line)});
s.on("data",d=>{b+=d;if(!b.includes("\\n"))return;const r=JSON.parse(b);b="";
c[r.ok?"ok":/busy/.test(r.error)?"busy":/no request within/.test(r.error)?"slow":"other"]++;if(!r.ok)console.error(r.error);done()});
s.on("error",()=>{c.other++;done()})}`;
const flood = async (n: number, line: string, holdMs: number) => {
  const r = await asUser(lab.host, "nobody", process.execPath, [
    "-e",
    FLOOD,
    userd.socket,
    String(n),
    line,
    String(holdMs),
  ]);
  return {
    ...(JSON.parse(String(r.stdout)) as Record<"ok" | "busy" | "slow" | "other", number>),
    stderr: String(r.stderr),
  };
};

describe("kvmnet-userd", () => {
  it("an allowed user's command gets a tap they own on the bridge; it goes with the network when the command ends", async () => {
    const r = await qemu("nobody", [
      "--",
      "sh",
      "-c",
      "cat /sys/class/net/{tap}/owner; basename $(readlink /sys/class/net/{tap}/master); cat /sys/class/net/{tap}/carrier 2>&1; echo {tap}",
    ]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const [owner, master, , tap] = String(r.stdout).split("\n");
    expect(owner).toBe("65534");
    expect(master).toBe(lab.bridge);
    expect(tap).toBe("ku65534n0");
    expect(await gone(`/sys/class/net/${tap}`)).toBe(true);
    expect(await gone(`/sys/class/net/${lab.bridge}`)).toBe(true); // teardown = when-idle, no port left
    expect(userd.log()).toContain(`${tap}: removed`);
  });

  it("a user in an allowed group is served; a user not allowed is refused (exit 2, who may allow it), nothing changed", async () => {
    const ok = await qemu("daemon", ["--network", "nat0", "--", "cat", "/sys/class/net/{tap}/owner"]);
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
    expect(String(ok.stdout).trim()).toBe("1");
    // The service tears the idle network down, then deletes the tap: wait for both before taking the host's links.
    expect(await gone(`/sys/class/net/${lab.bridge}`)).toBe(true);
    expect(await gone("/sys/class/net/ku1n0")).toBe(true);
    const before = await links();
    const no = await qemu("bin", ["--network", "nat0", "--", "true"]);
    expect(no.exitCode).toBe(2);
    expect(String(no.stderr)).toMatch(
      /^kvmnet-qemu: user bin \(uid 2\) may not use network nat0: root allows it with allow_users = bin/,
    );
    expect(String(no.stderr)).toContain(lab.conf.file);
    const none = await qemu("bin", ["--", "true"]);
    expect(none.exitCode).toBe(2);
    expect(String(none.stderr)).toContain("may use no network");
    expect(await links()).toBe(before);
  });

  it("a user cannot take, remove or see another user's tap; the owner can remove it", async () => {
    const held = qemu("nobody", ["--tap", "kvtest0", "--", "sh", "-c", "echo $$; exec sleep 60", "{tap}"], 120_000);
    let pid = "";
    held.stdout!.on("data", (d: Buffer) => (pid += d.toString()));
    for (let i = 0; i < 300 && (await lab.host.tryRun("test", ["-e", "/sys/class/net/kvtest0/master"])).exitCode; i++)
      await new Promise((r) => setTimeout(r, 100));
    const take = await qemu("daemon", ["--tap", "kvtest0", "--", "true"]);
    expect(take.exitCode).toBe(2);
    expect(String(take.stderr)).toContain("kvtest0 belongs to another user (uid 65534)");
    const remove = await qemu("daemon", ["--remove", "kvtest0"]);
    expect(remove.exitCode).toBe(2);
    expect(String(remove.stderr)).toContain("is not yours: it belongs to nobody (uid 65534)");
    expect(String((await qemu("daemon", ["--list"])).stdout)).toBe("");
    expect(String((await qemu("nobody", ["--list"])).stdout)).toBe("kvtest0\tnat0\tnobody");
    expect(await lab.host.sh("cat /sys/class/net/kvtest0/owner")).toBe("65534");
    const mine = await qemu("nobody", ["--remove", "kvtest0"]);
    expect(mine.exitCode, String(mine.stderr)).toBe(0);
    expect(await gone("/sys/class/net/kvtest0")).toBe(true);
    await execa("kill", ["-KILL", pid.trim()]); // the "VM", by the pid it printed
    await held;
  });

  it("a user's tap never takes a name the config gives its own policy (tap.NAME.*) or another network's taps glob claims: exit 2, nothing made", async () => {
    const before = await links();
    const r = await qemu("nobody", ["--tap", "kvfast0", "--", "true"]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(
      /^kvmnet-qemu: tap kvfast0 is named by tap\.kvfast0\.rate in \[nat0\] of \S+ \(line \d+\): a user's tap never takes a name the config gives its own policy; leave --tap out, or root renames the key/,
    );
    expect(String(r.stderr)).toContain(lab.conf.file);
    expect(await links()).toBe(before);
    // Nor a name another network's taps glob claims.
    const sec = await qemu("nobody", ["--tap", "kvsec1", "--", "true"]);
    expect(sec.exitCode).toBe(2);
    expect(String(sec.stderr)).toMatch(
      /^kvmnet-qemu: tap kvsec1 matches taps = kvsec\* of \[sec\] in \S+ \(line \d+\), not the network it is for \(nat0\): a user's tap never takes a name another network claims/,
    );
    expect(await links()).toBe(before);
    // Any other name is served.
    const ok = await qemu("nobody", ["--tap", "kvslow0", "--", "true"]);
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
  });

  it("a SIGKILLed VM's tap, and the idle network, are removed", async () => {
    const held = qemu("nobody", ["--", "sh", "-c", "echo {tap} $$; exec sleep 60"], 120_000);
    let tap = "";
    held.stdout!.on("data", (d: Buffer) => (tap += d.toString()));
    for (let i = 0; i < 300 && !tap.includes("\n"); i++) await new Promise((r) => setTimeout(r, 100));
    const [name, pid] = tap.trim().split(" ");
    tap = name!;
    expect(tap).toBe("ku65534n0");
    expect(await lab.host.sh(`cat /sys/class/net/${tap}/owner`)).toBe("65534");
    // The "VM" (sleep, run by kvmnet-qemu as nobody) killed with SIGKILL, by the pid it printed.
    await execa("kill", ["-KILL", pid!]);
    expect(await gone(`/sys/class/net/${tap}`)).toBe(true);
    expect(await gone(`/sys/class/net/${lab.bridge}`)).toBe(true);
    await held;
  });

  it("a restarted service leaves a running VM's tap, holds it again, and removes it once the VM has closed it", async () => {
    // The "VM" opens its tap as QEMU does (TUNSETIFF, IFF_TAP | IFF_NO_PI), as nobody, and prints its pid.
    const OPENER = `import fcntl,os,struct,sys,time
fd=os.open("/dev/net/tun",os.O_RDWR)
fcntl.ioctl(fd,0x400454ca,struct.pack("16sH",sys.argv[1].encode(),0x1002))
print(sys.argv[1],os.getpid(),flush=True)
time.sleep(120)`;
    const held = qemu("nobody", ["--", "python3", "-c", OPENER, "{tap}"], 180_000);
    let said = "";
    held.stdout!.on("data", (d: Buffer) => (said += d.toString()));
    for (let i = 0; i < 600 && !said.includes("\n"); i++) await new Promise((r) => setTimeout(r, 100));
    const [tap, pid] = said.trim().split(" ");
    expect(tap, String(held.stderr)).toBe("ku65534n0");
    expect(await lab.host.sh(`cat /sys/class/net/${tap}/carrier`)).toBe("1");
    // SIGTERM stops it at once (not after execa's SIGKILL), though a connection is held.
    expect(await userd.stop()).toMatchObject({ exitCode: 0 });
    expect(userd.log()).toContain("stopped; the taps of running VMs stay");
    expect(await lab.host.sh(`basename $(readlink /sys/class/net/${tap}/master)`)).toBe(lab.bridge);
    userd = await startUserd(lab.host, lab.conf.file, userd.socket);
    for (let i = 0; i < 100 && !userd.log().includes("held again"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(userd.log()).toContain(`${tap}: held again for nobody (uid 65534) on nat0`);
    expect(await lab.host.sh(`cat /sys/class/net/${tap}/owner`)).toBe("65534");
    await execa("kill", ["-KILL", pid!]);
    expect(await gone(`/sys/class/net/${tap}`)).toBe(true);
    expect(await gone(`/sys/class/net/${lab.bridge}`)).toBe(true);
    await held;
  });

  it("malformed, forged, oversized and slow requests are refused with exit-2 answers; the service serves on", async () => {
    const before = await links();
    const ask = (data: string) => rawAsk(lab.host, "nobody", userd.socket, data);
    const refusal = (text: string) => JSON.parse(text) as { ok: boolean; code: number; error: string };
    const cases: [string, RegExp][] = [
      ["hello\n", /malformed request: not JSON/],
      ['{"op":"shutdown"}\n', /op is "shutdown", not open, list or remove/],
      ['{"op":"open","uid":0}\n', /forged request: field "uid" refused/],
      ['{"op":"open","user":"root","network":"nat0"}\n', /forged request/],
      ['{"op":"open","tap":"../../etc"}\n', /tap .* has characters outside/],
      ['{"op":"open","network":"nat0","tap":"up0"}\n', /up0 exists already/],
      ['{"op":"remove","tap":"up0"}\n', /not a tap kvmnet-userd holds for you/],
      ['{"op":"open","network":"nope"}\n', /no network nope \(networks you may use: nat0\)/],
      ["[1,2]\n", /not an object/],
      ["x".repeat(10_000), /oversized request: more than 4096 bytes/],
      ["", /no request within 5 s/],
    ];
    for (const [data, want] of cases) {
      const r = refusal(await ask(data));
      expect(r, data.slice(0, 60)).toMatchObject({ ok: false, code: 2 });
      expect(r.error, data.slice(0, 60)).toMatch(want);
    }
    expect(await links()).toBe(before);
    expect(userd.alive()).toBe(true);
    expect(refusal(await ask('{"op":"list"}\n'))).toEqual({ ok: true, taps: [] });
  }, 120_000);

  it("an answered client that keeps its end of the connection open holds none of the service's connections", async () => {
    // allowHalfOpen: the client never closes its side, as a hostile one would not, to pin the service's bounded
    // connections.
    const HALF = `const s=require("net").connect({path:process.argv[1],allowHalfOpen:true});
s.on("connect",()=>s.write('{"op":"list"}\\n'));s.on("data",()=>{});s.on("end",()=>console.log("answered"));
setTimeout(()=>process.exit(0),+process.argv[2]);`;
    const client = asUser(lab.host, "nobody", process.execPath, ["-e", HALF, userd.socket, "30000"]);
    let out = "";
    client.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 300 && !out.includes("answered"); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain("answered");
    // The service's side of it (an accepted socket at the service's path), until it is closed.
    const held = async () => Number(await lab.host.sh(`ss -xH state connected src ${userd.socket} | wc -l`));
    let n = await held();
    for (let i = 0; i < 100 && n > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      n = await held();
    }
    expect(n).toBe(0);
    client.kill("SIGKILL");
    await client;
  });

  it("one user's silent connections take at most 12 of the 32 unanswered slots: another user is served meanwhile", async () => {
    // nobody opens 40 connections and sends nothing: past 32 they are told busy at once, past 12 of nobody's once
    // the service knows whose they are; nobody's 12 wait out their 5 s.
    const silent = flood(40, "", 0);
    const told = () => userd.log().includes("busy: uid 65534 has 12 connections unanswered already");
    for (let i = 0; i < 300 && !told(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(told(), userd.log()).toBe(true);
    const other = await qemu("daemon", ["--network", "nat0", "--", "true"]);
    expect(other.exitCode, String(other.stderr)).toBe(0);
    const r = await silent;
    expect(r).toMatchObject({ ok: 0, other: 0 });
    expect(r.busy + r.slow).toBe(40);
  }, 120_000);

  it("a flood of connections is bounded (busy answers, at most 16 taps a user), and the service serves on", async () => {
    // 40 silent connections of one user: 12 wait for their request (and are told after 5 s), the others are told
    // busy (8 at once, 20 once the service knows they are the same user's).
    const silent = await flood(40, "", 0);
    expect(silent).toMatchObject({ ok: 0, other: 0 });
    expect(silent.slow).toBeLessThanOrEqual(12);
    expect(silent.busy).toBeGreaterThanOrEqual(28);
    expect(silent.busy + silent.slow).toBe(40);
    // One user: 12 taps held, then 8 more asked for: 4 made, 4 refused (16 a user); all gone once they end.
    const kus = async () =>
      (await lab.host.sh("ls /sys/class/net")).split(/\s+/).filter((n) => n.startsWith("ku")).length;
    const first = flood(12, '{"op":"open"}\n', 20_000);
    for (let i = 0; i < 1200 && (await kus()) < 12; i++) await new Promise((r) => setTimeout(r, 100));
    const more = await flood(8, '{"op":"open"}\n', 0);
    expect(more).toMatchObject({ ok: 4, other: 4 });
    expect(more.stderr).toContain("user nobody holds 16 taps already, the most one user may");
    expect((await first).ok).toBe(12);
    expect(await gone(`/sys/class/net/${lab.bridge}`)).toBe(true);
    // The last tap is deleted just after its detach took the idle bridge away: wait for it, not for the bridge.
    for (let i = 0; i < 600 && (await kus()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await lab.host.sh("ls /sys/class/net | grep '^ku' || true")).toBe("");
    expect(userd.alive()).toBe(true);
    const after = await qemu("nobody", ["--", "true"]);
    expect(after.exitCode, String(after.stderr)).toBe(0);
  }, 240_000);
});
