// kvmnet under a real libvirtd (Debian 12's libvirt 9.0): domains whose <interface type='ethernet'> runs the
// installed hooks as <script>/<downscript>. libvirtd runs in a test network namespace and a private mount
// namespace (overlays on /etc and /var, a tmpfs /run: see libvirt/daemon.ts), so no domain, network or
// libvirt state reaches the host. The cases build on each other, in order: two domains up, one destroyed
// while the other pings on, the last destroyed (when-idle teardown), a bad config, a refused start.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Netns, rid, veth } from "../helpers/netns.js";
import { HOST_UP, OUTSIDE, nsState, startEchoAddress } from "../netns/models-lab.js";
import { randomMac } from "../vm/guest.js";
import { CASE_TIMEOUT, inTurn, prepare, type E2E } from "./guests.js";
import { startLibvirt, type Libvirt } from "./libvirt/daemon.js";
import { domainXml, leaseOf, results, waitForResult, type DomainSpec } from "./libvirt/domain.js";
import { hookRuns, installKvmnet, taints, writeConfig } from "./libvirt/kvmnet.js";

const GATEWAY = "192.0.2.1";
const WEB_MAC = "52:54:00:00:0a:0a";
const BR0 = `kl${rid(6)}`;
const BR1 = `km${rid(6)}`;
const WEB_TAP = `kvw${rid(6)}`; // matches nat0's taps glob: selection rule 3
// Two nat networks, so that neither hook name alone picks one (rule 4): the web domain is placed by its
// <target dev> and nat0's taps glob, the other by the program name qemu-natup@nat0. nat1 never comes up.
const CONFIG = `[nat0]
mode = nat
bridge = ${BR0}
address = ${GATEWAY}/24
dhcp_range = 192.0.2.100,192.0.2.199
host.web = ${WEB_MAC},192.0.2.10
taps = kvw*
teardown = when-idle

[nat1]
mode = nat
bridge = ${BR1}
address = 198.51.100.1/24
teardown = when-idle
`;

let e: E2E;
let host: Netns;
let outside: Netns;
let lv: Libvirt;
let tmp: string;
let stopEcho: () => void = () => {};
let release: () => void = () => {};
let turn: Promise<void> = Promise.resolve();
const hostBefore = hostState();
const t0 = Date.now();
const times: string[] = [];

beforeAll(async () => {
  // Hold the e2e QEMU turn for the whole file: its domains live across cases (at most two QEMUs at once).
  await new Promise<void>((acquired) => {
    turn = inTurn(
      () =>
        new Promise<void>((r) => {
          release = r;
          acquired();
        }),
    );
  });
  e = await prepare();
  host = await Netns.create("klv");
  outside = await Netns.create("klo");
  await veth(host, "up0", outside, "eth0");
  await host.sh(`ip addr add ${HOST_UP}/24 dev up0`);
  await outside.sh(`ip addr add ${OUTSIDE}/24 dev eth0`);
  stopEcho = await startEchoAddress(outside);
  tmp = mkdtempSync(join(tmpdir(), "kvmnet-libvirt-dom-"));
  const t = Date.now();
  lv = await startLibvirt(host);
  times.push(`libvirtd ready: ${Date.now() - t} ms`);
  await installKvmnet(lv, e.installed, CONFIG, ["qemu-natup@nat0", "qemu-natdown@nat0", "qemu-ifup-isolated@nat0"]);
}, CASE_TIMEOUT);

afterAll(async () => {
  await lv?.stop();
  stopEcho();
  await host?.destroy();
  await outside?.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  release();
  await turn;
  console.log(`libvirt e2e: ${times.join("; ")}; whole file ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

/** Define and start a domain; returns its console file and how long `virsh start` took. */
async function start(spec: Omit<DomainSpec, "kernel" | "initrd" | "console">): Promise<{
  console: string;
  ms: number;
  start: Awaited<ReturnType<Libvirt["virsh"]>>;
}> {
  const console = join(tmp, `${spec.name}.console`);
  const xml = join(tmp, `${spec.name}.xml`);
  writeFileSync(xml, domainXml({ ...spec, kernel: e.kernel, initrd: e.initrd, console }));
  const def = await lv.virsh("define", xml);
  if (def.code !== 0) throw new Error(`virsh define: ${def.err}`);
  const t = Date.now();
  const r = await lv.virsh("start", spec.name);
  return { console, ms: Date.now() - t, start: r };
}

const bridgeOf = async (dev: string) =>
  (JSON.parse(await host.sh(`ip -j link show dev ${dev}`)) as { master?: string }[])[0]?.master;
/** The command names of the processes in NS's network namespace. */
async function processesIn(ns: Netns): Promise<string[]> {
  const pids = (await execa("ip", ["netns", "pids", ns.name])).stdout.split("\n").filter(Boolean);
  return pids.flatMap((p) => {
    try {
      return [readFileSync(`/proc/${p}/comm`, "utf8").trim()];
    } catch {
      return [];
    }
  });
}
const hasLink = async (dev: string) => (await host.tryRun("ip", ["link", "show", "dev", dev])).exitCode === 0;

let alpha: { console: string; tap: string };
let webIp = "";

describe("kvmnet under a real libvirtd", () => {
  it(
    "two domains on a kvmnet NAT network via <script>: leases (host.web static), names, NAT; libvirt taints them shell-scripts",
    async () => {
      const w = await start({
        name: "web",
        tap: WEB_TAP,
        mac: WEB_MAC,
        script: "/etc/qemu-natup",
        downscript: "/etc/qemu-natdown",
        ip: "dhcp",
        hostname: "web",
        ping: [GATEWAY, OUTSIDE],
        append: [`kvmnet.fetch=${OUTSIDE}:7777`],
        wait: 300,
      });
      expect(w.start, w.start.err).toMatchObject({ code: 0 });
      times.push(`virsh start (cold network): ${w.ms} ms`);
      webIp = (await leaseOf(w.console)).ip!;
      times.push(`web's lease at guest uptime ${results(w.console).find((r) => r.kind === "lease")?.fields.t} s`);
      expect(webIp, "host.web's static lease").toBe("192.0.2.10/24");
      const a = await start({
        name: "alpha",
        mac: randomMac(),
        script: "/etc/qemu-natup@nat0",
        downscript: "/etc/qemu-natdown@nat0",
        ip: "dhcp",
        hostname: "alpha",
        resolve: ["web"],
        ping: ["192.0.2.10"],
        append: [`kvmnet.watch=${GATEWAY},${OUTSIDE}`, "kvmnet.watchsecs=12"],
        wait: 300,
      });
      expect(a.start, a.start.err).toMatchObject({ code: 0 });
      times.push(`virsh start (warm network): ${a.ms} ms`);
      // libvirt picked the tap's name (vnetN): only the program name qemu-natup@nat0 can have placed it.
      const tap = /^(vnet\d+)\s/m.exec((await lv.virsh("domiflist", "alpha")).out.trim())?.[1] ?? "";
      alpha = { console: a.console, tap };
      expect(tap).toMatch(/^vnet\d+$/);
      expect((await leaseOf(a.console)).ip).toMatch(/^192\.0\.2\.1\d\d\/24$/);
      expect(await bridgeOf(WEB_TAP)).toBe(BR0);
      expect(await bridgeOf(tap)).toBe(BR0);
      expect(await hasLink(BR1), "nat1 was never selected").toBe(false);
      expect((await waitForResult(a.console, "resolve")).args).toEqual(["web", "192.0.2.10"]);
      expect((await waitForResult(a.console, "ping")).args).toEqual(["192.0.2.10", "ok"]);
      const wr = (kind: string, arg?: string) => waitForResult(w.console, kind, 60_000, arg).then((r) => r.args);
      expect(await wr("ping", GATEWAY)).toEqual([GATEWAY, "ok"]);
      expect(await wr("ping", OUTSIDE)).toEqual([OUTSIDE, "ok"]);
      // The outside sees the host's uplink address: masquerade.
      expect(await wr("fetch")).toEqual([`${OUTSIDE}:7777`, HOST_UP]);
      expect(hookRuns(lv)).toEqual([
        { program: "/etc/qemu-natup", arg: WEB_TAP },
        { program: "/etc/qemu-natup@nat0", arg: tap },
      ]);
      for (const d of ["web", "alpha"]) {
        expect(taints(lv, d).join("\n")).toMatch(/Domain id=\d+ is tainted: shell-scripts/);
        times.push(
          `${d}: ${taints(lv, d)
            .map((l) => l.replace(/^.*?: /, ""))
            .join(", ")}`,
        );
      }
    },
    CASE_TIMEOUT,
  );

  it(
    "one domain destroyed while the other keeps pinging the gateway and an outside namespace",
    async () => {
      await waitForResult(alpha.console, "watch-start");
      await new Promise((r) => setTimeout(r, 2000));
      const d = await lv.virsh("destroy", "web");
      expect(d, d.err).toMatchObject({ code: 0 });
      expect(await hasLink(WEB_TAP)).toBe(false);
      expect(await host.sh(`ls /sys/class/net/${BR0}/brif`)).toBe(alpha.tap);
      for (const ip of [GATEWAY, OUTSIDE]) {
        const w = (await waitForResult(alpha.console, "watch", 60_000, ip)).fields;
        expect(Number(w.sent), JSON.stringify(w)).toBeGreaterThanOrEqual(30);
        // ping -w may stop before the last reply arrives: at most that one is missing.
        expect(Number(w.sent) - Number(w.received), `${ip}: ${JSON.stringify(w)}`).toBeLessThanOrEqual(1);
      }
      // libvirt closed web's tap before it ran the downscript with its name; kvmnet took that as "detached".
      expect(hookRuns(lv).slice(2)).toEqual([{ program: "/etc/qemu-natdown", arg: WEB_TAP }]);
    },
    CASE_TIMEOUT,
  );

  it(
    "the last domain destroyed: when-idle teardown (bridge, rules, dnsmasq gone; the leases kept)",
    async () => {
      expect(lv.read("/run/kvmnet/nat0.dnsmasq.pid")).not.toBe("");
      const d = await lv.virsh("destroy", "alpha");
      expect(d, d.err).toMatchObject({ code: 0 });
      expect(hookRuns(lv).slice(3)).toEqual([{ program: "/etc/qemu-natdown@nat0", arg: alpha.tap }]);
      expect(await hasLink(BR0)).toBe(false);
      expect(await host.sh("nft list tables")).not.toContain("kvmnet");
      expect(lv.read("/run/kvmnet/nat0.dnsmasq.pid")).toBe("");
      expect(await processesIn(host)).not.toContain("dnsmasq");
      expect(lv.read("/var/lib/kvmnet/nat0.leases")).toContain(WEB_MAC);
    },
    CASE_TIMEOUT,
  );

  it(
    "a bad config: virsh start fails showing kvmnet's FILE:LINE message; nothing changed",
    async () => {
      await writeConfig(lv, CONFIG.replace(`${GATEWAY}/24`, `${GATEWAY}/33`));
      const before = await nsState(host, lv.path("/run/kvmnet"));
      const b = await start({
        name: "bad",
        mac: randomMac(),
        script: "/etc/qemu-natup@nat0",
        downscript: "/etc/qemu-natdown@nat0",
        ip: "dhcp",
      });
      expect(b.start.code).not.toBe(0);
      times.push(`virsh start refused in ${b.ms} ms`);
      // Line 4 of /etc/kvmnet.conf: libvirt's error quotes the hook's stderr.
      expect(b.start.err).toContain(
        `qemu-natup: /etc/kvmnet.conf:4: address: "${GATEWAY}/33" is not an IPv4 address with a prefix, such as 192.0.2.1/24`,
      );
      expect(b.start.err).toMatch(/Child process \(.*\/etc\/qemu-natup@nat0 vnet\d+\) unexpected exit status 2/);
      expect(await nsState(host, lv.path("/run/kvmnet"))).toBe(before);
      expect((await lv.virsh("domstate", "bad")).out.trim()).toBe("shut off");
      // After a failed up script, libvirt runs the downscript with the literal argument "(null)" (the tap
      // name it chose is already forgotten). With this config, natdown refuses the file too.
      const down = hookRuns(lv).slice(4);
      expect(down.map((r) => [r.program, r.arg])).toEqual([
        ["/etc/qemu-natup@nat0", expect.stringMatching(/^vnet\d+$/)],
        ["/etc/qemu-natdown@nat0", "'(null)'"],
      ]);
      expect(down[1]!.failed).toContain("/etc/kvmnet.conf:4: address:");
    },
    CASE_TIMEOUT,
  );

  it(
    "a refused start on an up but idle network: the downscript gets '(null)' and does when-idle teardown",
    async () => {
      await writeConfig(lv, CONFIG);
      const up = await lv.sh(`${e.installed.bin("kvmnet")} up nat0`);
      expect(up, up.err).toMatchObject({ code: 0 });
      expect(await hasLink(BR0)).toBe(true);
      // A nat network given to the isolated hook: refused (exit 2) before anything changes.
      const r = await start({
        name: "wrong",
        mac: randomMac(),
        script: "/etc/qemu-ifup-isolated@nat0",
        downscript: "/etc/qemu-natdown@nat0",
        ip: "dhcp",
      });
      expect(r.start.code).not.toBe(0);
      expect(r.start.err).toContain("qemu-ifup-isolated: ");
      expect(r.start.err).toContain("qemu-natup");
      const runs = hookRuns(lv).slice(6);
      expect(runs.map((x) => [x.program, x.arg])).toEqual([
        ["/etc/qemu-ifup-isolated@nat0", expect.stringMatching(/^vnet\d+$/)],
        ["/etc/qemu-natdown@nat0", "'(null)'"],
      ]);
      // THE '(null)' DOWNSCRIPT: exits 0 and tears the idle network down (the lead's change to src/converge/hook.ts).
      expect(runs[1]!.failed, "qemu-natdown@nat0 '(null)' failed under libvirt").toBeUndefined();
      expect(await hasLink(BR0)).toBe(false);
      expect(await processesIn(host)).not.toContain("dnsmasq");
    },
    CASE_TIMEOUT,
  );

  it(
    "nothing reached the host: no libvirt state, no kvmnet config or hooks in /etc, no cgroups",
    async () => {
      await lv.stop();
      lv = undefined as unknown as Libvirt;
      expect(hostState()).toEqual(hostBefore);
    },
    CASE_TIMEOUT,
  );
});

/** What libvirtd or kvmnet could have left on the host, as "PATH: exists/missing" (and the cgroup dirs libvirt makes). */
function hostState(): string[] {
  const paths = [
    "/etc/libvirt/qemu.conf",
    "/etc/libvirt/libvirtd.conf",
    "/etc/libvirt/qemu",
    "/var/lib/libvirt",
    "/var/log/libvirt",
    "/var/cache/libvirt",
    "/run/libvirt",
    "/etc/kvmnet.conf",
    "/etc/qemu-natup",
    "/etc/qemu-natup@nat0",
    "/run/kvmnet",
    "/var/lib/kvmnet",
    "/sys/fs/cgroup/machine.slice",
    "/sys/fs/cgroup/cpu/machine.slice",
    "/sys/fs/cgroup/memory/machine.slice",
    "/sys/fs/cgroup/unified/machine.slice",
    "/sys/fs/cgroup/cpu/machine",
  ];
  const passwd = /^libvirt-qemu:/m.test(readFileSync("/etc/passwd", "utf8"));
  return [...paths.map((p) => `${p}: ${existsSync(p) ? "exists" : "missing"}`), `libvirt-qemu user: ${passwd}`];
}
