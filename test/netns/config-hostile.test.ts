// Hostile config input against the real programs in a namespace (issue 9 #9, #13, environment): each is
// refused with exit 2 before anything changes, and a file that is not a kvmnet config is never echoed.
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Netns, hook, program, rid, stopDnsmasqIn } from "../helpers/netns.js";

let ns: Netns;
// Made at load time: the case table below is built before beforeAll runs.
const dir = mkdtempSync(join(tmpdir(), "kvmnet-hostile-"));
const state = async () =>
  [
    await ns.sh("ip -br link | sort"),
    await ns.sh("ip -4 -br addr | sort"),
    await ns.sh("nft list ruleset"),
    await ns.sh(`ls -a ${dir}`),
  ].join("\n");
// A root-owned, 0644 file in DIR, as an admin would point KVMNET_CONFIG at it.
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  chownSync(f, 0, 0);
  chmodSync(f, 0o644);
  return f;
};

beforeAll(async () => {
  ns = await Netns.create("kc");
  await ns.sh("ip tuntap add vm0 mode tap");
  chmodSync(dir, 0o755);
});
afterAll(async () => {
  stopDnsmasqIn(`${dir}/run`); // only if a refusal failed and a network came up
  await ns?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("a file that is not a kvmnet config", () => {
  const secret = `$y$j9T$${rid(8)}SECRET${rid(8)}`;
  const shadow = `root:${secret}:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\nadmin = ${secret}\n`;

  it("KVMNET_CONFIG=/etc/shadow-like file: exit 2, its line number only, none of its content", async () => {
    const f = file(`shadow-${rid(4)}`, shadow);
    const before = await state();
    const r = await hook(ns, "qemu-natup", "vm0", f);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `qemu-natup: ${f}:1: this line is neither "key = value" nor a [section] header: ${f} does not look like a kvmnet config (its content is not shown)\n`.trimEnd(),
    );
    expect(r.stderr + r.stdout).not.toMatch(/SECRET|root|daemon|19700|admin/);
    expect(await state()).toBe(before);
  });

  it("kvmnet check shows none of it either", async () => {
    const f = file(`shadow-${rid(4)}`, shadow);
    const r = await ns.tryRun(program("kvmnet"), ["check", f], { env: { KVMNET_CONFIG: f } });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr) + String(r.stdout)).toContain("does not look like a kvmnet config");
    expect(String(r.stderr) + String(r.stdout)).not.toMatch(/SECRET|root:|daemon|19700|admin/);
  });
});

describe("refused with exit 2, nothing changed", () => {
  const NAT = (bridge: string, global = "", extra = "") =>
    `[global]\nstate_dir = ${dir}/run\n${global}[nat0]\nmode = nat\nbridge = ${bridge}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\n${extra}`;
  const cases: [string, string, RegExp][] = [
    [
      "a dnsmasq directive in a quoted lease_dir (issue 9 #9)",
      NAT(`kh${rid(4)}`, `lease_dir = "${dir}/lib\\nlog-facility=${dir}/injected.log\\n#"\n`),
      /:3: lease_dir: the quoted value would decode to a control character \(U\+000A\)/,
    ],
    [
      "bridge = all, which ip refuses with exit 1 (issue 9 #13)",
      NAT("all"),
      /:5: bridge: "all" is reserved by the kernel/,
    ],
    ["bridge = default", NAT("default"), /:5: bridge: "default" is reserved by the kernel/],
    [
      "a second key hidden behind a lone CR (issue 9 #13)",
      NAT(`kh${rid(4)}\rbridge = all`),
      /:5: a carriage return \(CR\) inside the line/,
    ],
  ];
  it.each(cases)("%s", async (_name, text, want) => {
    const f = file(`k-${rid(4)}.conf`, text);
    const before = await state();
    const r = await hook(ns, "qemu-natup", "vm0", f);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(want);
    expect(r.stderr.split("\n"), "one problem, the one meant").toHaveLength(1);
    expect(await state()).toBe(before);
    expect(existsSync(`${dir}/injected.log`)).toBe(false);
  });
});
