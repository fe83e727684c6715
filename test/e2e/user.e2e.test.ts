// QEMU as an ordinary user (issue 23), end to end: a user the test makes (useradd, removed after) runs a real QEMU
// guest through the installed kvmnet-qemu, against kvmnet-userd in the lab's host namespace. The guest gets its
// lease, reaches the outside through NAT and answers on a published port; a second user, not allowed, is refused
// with the host unchanged, and cannot remove the first user's tap; a SIGKILLed QEMU's tap and when-idle network go.
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { rid } from "../helpers/netns.js";
import { asUser, startUserd, type Userd } from "../helpers/userd.js";
import { makeLab, OUTSIDE, HOST_UP, startEchoAddress, type Lab } from "../netns/models-lab.js";
import { boot, stopAll, CASE_TIMEOUT, explain, fetched, inTurn, prepare, type E2E } from "./guests.js";

const GATEWAY = "192.0.2.1";
const WEB_MAC = "52:54:00:00:0a:0b";
const alice = `kvu${rid(5)}`;
const bob = `kvb${rid(5)}`;
const body = (br: string) => `[nat0]
mode = nat
bridge = ${br}
address = ${GATEWAY}/24
dhcp_range = 192.0.2.100,192.0.2.199
host.web = ${WEB_MAC},192.0.2.10
publish = tcp:8080=web:80
teardown = when-idle
allow_users = ${alice}
`;

let e: E2E;
let lab: Lab | undefined;
let userd: Userd | undefined;
let stopEcho: (() => void) | undefined;
beforeAll(async () => {
  e = await prepare();
  for (const u of [alice, bob])
    await execa("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", u]);
}, CASE_TIMEOUT);
afterEach(async () => {
  await stopAll();
  stopEcho?.();
  stopEcho = undefined;
  await userd?.stop();
  userd = undefined;
  await lab?.destroy();
  lab = undefined;
});
afterAll(async () => {
  for (const u of [alice, bob]) await execa("userdel", [u], { reject: false });
});

// The words QEMU runs under: USER's installed kvmnet-qemu, asking the lab's service.
const asQemuUser = (user: string, socket: string) => [
  "setpriv",
  `--reuid=${user}`,
  `--regid=${user}`,
  "--init-groups",
  "env",
  "-i",
  "PATH=/usr/bin:/bin",
  `KVMNET_USER_SOCKET=${socket}`,
  e.installed.bin("kvmnet-qemu"),
  "--network",
  "nat0",
  "--",
];

const userGuest = (user: string, extra: Record<string, unknown> = {}) =>
  boot(e, lab!.host, {
    up: "no",
    down: "no",
    config: lab!.conf.file,
    tap: "{tap}",
    wrap: asQemuUser(user, userd!.socket),
    ...extra,
  } as Parameters<typeof boot>[2]);

describe("QEMU as an ordinary user", () => {
  it(
    "the user's guest gets its lease, reaches the outside through NAT, answers on a published port; another user is refused and cannot remove its tap",
    () =>
      inTurn(async () => {
        lab = await makeLab({ body });
        stopEcho = await startEchoAddress(lab.outside);
        userd = await startUserd(lab.host, lab.conf.file, `${lab.conf.dir}/user.sock`, e.installed.bin("kvmnet-userd"));
        const h = userGuest(alice, {
          mac: WEB_MAC,
          ip: "dhcp",
          hostname: "web",
          ping: [GATEWAY, OUTSIDE],
          fetch: [`${OUTSIDE}:7777`],
          append: ["kvmnet.serve=80"],
          wait: 60,
        });
        await h.waitForResult("serving", 240_000);
        const got = await lab.outside.sh(
          `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 ${HOST_UP} 8080 || true`,
        );
        expect(got.trim().split("\n").pop(), got).toBe("kvmnet-guest web");
        const uid = (await execa("id", ["-u", alice])).stdout.trim();
        const tap = `ku${uid}n0`;
        expect(await lab.host.sh(`cat /sys/class/net/${tap}/owner`)).toBe(uid);
        expect(await lab.host.sh(`basename $(readlink /sys/class/net/${tap}/master)`)).toBe(lab.bridge);

        // Bob: not allowed, refused, nothing changed; he cannot remove alice's tap either.
        const before = await lab.host.sh("ip -o link show | cut -d: -f2 | sort; nft -s list ruleset | md5sum");
        const q = (args: string[]) =>
          asUser(lab!.host, bob, e.installed.bin("kvmnet-qemu"), args, { KVMNET_USER_SOCKET: userd!.socket });
        const refused = await q(["--network", "nat0", "--", "true"]);
        expect(refused.exitCode).toBe(2);
        expect(String(refused.stderr)).toContain(`may not use network nat0: root allows it with allow_users = ${bob}`);
        const removed = await q(["--remove", tap]);
        expect(removed.exitCode).toBe(2);
        expect(String(removed.stderr)).toContain(`tap ${tap} is not yours`);
        expect(await lab.host.sh("ip -o link show | cut -d: -f2 | sort; nft -s list ruleset | md5sum")).toBe(before);
        expect(await lab.host.sh(`cat /sys/class/net/${tap}/owner`)).toBe(uid);

        const r = await h.result;
        expect(r.lease?.ip, explain(r)).toBe("192.0.2.10/24");
        expect(r.pings, explain(r)).toEqual({ [GATEWAY]: true, [OUTSIDE]: true });
        expect(fetched(r, `${OUTSIDE}:7777`), explain(r)).toBe(HOST_UP);
        // QEMU ended: the tap and (teardown = when-idle) the network are gone.
        await until(async () => !(await exists(lab!, tap)) && !(await exists(lab!, lab!.bridge)));
      }),
    CASE_TIMEOUT,
  );

  it(
    "after a SIGKILL of the user's QEMU, its tap and the when-idle network are gone",
    () =>
      inTurn(async () => {
        lab = await makeLab({ body });
        userd = await startUserd(lab.host, lab.conf.file, `${lab.conf.dir}/user.sock`, e.installed.bin("kvmnet-userd"));
        const h = userGuest(alice, { ip: "dhcp", hostname: "victim", wait: 120 });
        await h.waitForResult("dhcp", 240_000);
        const uid = (await execa("id", ["-u", alice])).stdout.trim();
        const tap = `ku${uid}n0`;
        expect(await exists(lab, tap)).toBe(true);
        // h.pid is kvmnet-qemu (ip netns exec, setpriv and env exec in place); QEMU is its child.
        const qemu = (
          await execa("pgrep", ["-P", String(h.pid), "-x", "qemu-system-x86"], { reject: false })
        ).stdout.trim();
        expect(qemu, "QEMU's pid").toMatch(/^\d+$/);
        await execa("kill", ["-KILL", qemu]);
        const r = await h.result;
        expect(r.exitCode).toBe(137);
        await until(async () => !(await exists(lab!, tap)) && !(await exists(lab!, lab!.bridge)));
        expect(userd.log()).toContain(`${tap}: removed`);
      }),
    CASE_TIMEOUT,
  );
});

async function exists(l: Lab, dev: string): Promise<boolean> {
  return (await l.host.tryRun("test", ["-e", `/sys/class/net/${dev}`])).exitCode === 0;
}

async function until(cond: () => Promise<boolean>, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("condition not reached within 60 s");
}
