// Hostile input to the config (issue 18 §6): a broken section header, VXLAN peers and underlays that cannot be,
// [NET@HOSTNAME] sections checked on every host and matched in any case, and a config file that is not there.
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { program } from "../helpers/netns.js";
import { problems } from "../helpers/problems.js";
import { loadConfig } from "../../src/config/load.js";
import { parseConfig } from "../../src/config/validate.js";
import { CommandError, ConfigError } from "../../src/errors.js";
import { errnoMessage, errnoWords, errorText } from "../../src/errno.js";

const VX = `[lab]
mode = nat
bridge = brlab
address = 192.0.2.1/24
vxlan_id = 100
vxlan_dev = lo
vxlan_peers = 203.0.113.1, 203.0.113.2
role = member
`;
const ME = hostname();

describe("a broken section header", () => {
  it.each([
    ["[nat0", '3: : "[nat0": a [section] header without its closing "]": write [nat0]'],
    ["[nat0 ; the lab", '3: : "[nat0 ; the lab": a [section] header without its closing "]": write [nat0]'],
  ])("%s is quoted and the missing ] named", (header, want) => {
    const text = `[a]\nmode = isolated\n${header}\nmode = nat\nbridge = br0\n`;
    expect(problems(text)).toEqual(expect.arrayContaining([want]));
    // Its keys are not taken for [a]'s (no "key repeated" for mode).
    expect(problems(text).join("\n")).not.toMatch(/repeated/);
  });
  it("a file of other lines is still refused as not a kvmnet config, its content not shown", () => {
    expect(problems("[1, 2,\n3]\n")).toEqual([
      expect.stringMatching(/^1: : this line is neither "key = value" nor a \[section\] header: .* does not look like/),
    ]);
  });
});

describe("vxlan_peers and vxlan_local: only another host's unicast address", () => {
  it.each([
    ["0.0.0.0", "the unspecified address"],
    ["127.0.0.1", "a loopback address"],
    ["224.0.0.5", "a multicast address"],
    ["239.1.1.1", "a multicast address"],
    ["255.255.255.255", "the broadcast address"],
    ["169.254.3.4", "a link-local address"],
  ])("vxlan_peers %s is refused: %s", (peer, why) => {
    expect(problems(VX.replace("203.0.113.2", peer))).toEqual([
      `7: vxlan_peers: ${peer} is ${why}, not another host's underlay address`,
    ]);
  });
  it.each([
    ["::", "the unspecified address"],
    ["::1", "a loopback address"],
    ["ff02::1", "a multicast address"],
    ["fe80::1", "a link-local address"],
    ["::ffff:203.0.113.9", "an IPv4-mapped IPv6 address (write the IPv4 address)"],
  ])("vxlan_peers %s is refused: %s", (peer, why) => {
    expect(problems(VX.replace("203.0.113.1, 203.0.113.2", `2001:db8::1, ${peer}`))).toEqual([
      `7: vxlan_peers: ${peer} is ${why}, not another host's underlay address`,
    ]);
  });
  it("vxlan_local 0.0.0.0 is refused; 203.0.113.9 is taken", () => {
    expect(problems(`${VX}vxlan_local = 0.0.0.0\n`)).toEqual([
      "9: vxlan_local: 0.0.0.0 is the unspecified address, not this host's underlay address",
    ]);
    expect(problems(`${VX}vxlan_local = 203.0.113.9\n`)).toEqual([]);
  });
});

describe("vxlan_dev: a NIC, not a kvmnet bridge", () => {
  const other = "\n[iso]\nmode = isolated\nbridge = briso\n";
  it.each([
    ["briso", "6: vxlan_dev: briso is the bridge of [iso] (line 12): name the underlay NIC the VXLAN runs over"],
    [
      "brlab",
      "6: vxlan_dev: brlab is this network's own bridge: name the underlay NIC the VXLAN runs over, such as eth0",
    ],
  ])("vxlan_dev = %s", (dev, want) => {
    expect(problems(VX.replace("vxlan_dev = lo", `vxlan_dev = ${dev}`) + other)).toEqual([want]);
  });
  it("also when set in another host's section", () => {
    expect(problems(`${VX}${other}\n[lab@elsewhere-host]\nvxlan_dev = briso\n`)).toEqual([
      "15: vxlan_dev: briso is the bridge of [iso] (line 12): name the underlay NIC the VXLAN runs over",
    ]);
  });
});

describe("[NET@HOSTNAME] sections on every host", () => {
  it.each([
    ["role = bogus", '11: role: "bogus" is not gateway or member'],
    ["vxlan_local = 2001:db8::9", "11: vxlan_local: 2001:db8::9 is not of the peers' address family"],
    ["vxlan_dev = eth0/1", expect.stringMatching(/^11: vxlan_dev: /)],
  ])("another host's %s is an error here too", (line, want) => {
    expect(problems(`${VX}\n[lab@not-${ME}.example]\n${line}\n`)).toEqual([want]);
  });
  it("a valid section for another host is not applied here", () => {
    expect(parseConfig("f", `${VX}\n[lab@not-${ME}]\nrole = gateway\n`).networks[0]!.mode).toBe("isolated");
  });
  it("this host's name matches in any case", () => {
    const text = `${VX}\n[lab@${ME.toUpperCase()}]\nrole = gateway\n`;
    expect(parseConfig("f", text).networks[0]!.mode).toBe("nat");
  });
  it("two sections for one host are an error naming both lines, whichever host reads the file", () => {
    expect(problems(`${VX}\n[lab@h]\nrole = gateway\n\n[lab@h.example]\nrole = member\n`)).toEqual([
      "13: [lab@h.example]: [lab@h] (line 10) applies on host h.example too: one [lab@HOSTNAME] section per host",
    ]);
    expect(problems(`${VX}\n[lab@gw1]\nrole = gateway\n\n[lab@GW1]\nrole = member\n`)).toEqual([
      "13: [lab@GW1]: [lab@gw1] (line 10) applies on host gw1 too: one [lab@HOSTNAME] section per host",
    ]);
    const short = ME.split(".")[0]!;
    expect(problems(`${VX}\n[lab@${short}]\nrole = gateway\n\n[lab@${short}.example]\nrole = member\n`)).toEqual([
      `13: [lab@${short}.example]: [lab@${short}] (line 10) applies on host ${short}.example too: one [lab@HOSTNAME] section per host`,
    ]);
  });
});

describe("a config file that is not there", () => {
  it("says it does not exist and how to make one, without an errno name", () => {
    const dir = mkdtempSync(join(tmpdir(), "kvmnet-noconf-"));
    try {
      const file = join(dir, "kvmnet.conf");
      let err: unknown;
      try {
        loadConfig(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(
        `${file}: does not exist: \`kvmnet install\` writes a default one (a NAT network, commented), kvmnet.conf(5) describes it`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("kvmnet status and doctor say so, and how to make one (both only read)", async () => {
    const env = { KVMNET_CONFIG: "/nonexistent-kvmnet/kvmnet.conf" };
    const st = await execa("node", [program("kvmnet"), "status"], { env, reject: false });
    expect(st.exitCode).toBe(2);
    expect(st.stderr).toBe(
      "kvmnet: /nonexistent-kvmnet/kvmnet.conf: does not exist: `kvmnet install` writes a default one (a NAT network, commented), kvmnet.conf(5) describes it",
    );
    const doc = await execa("node", [program("kvmnet"), "doctor", "--json"], { env, reject: false });
    const config = (JSON.parse(doc.stdout) as { checks: { id: string; message: string; fix?: string }[] }).checks.find(
      (c) => c.id === "config",
    );
    expect(config?.message).toMatch(/does not exist: `kvmnet install` writes a default one/);
    expect(config?.fix).toMatch(/^kvmnet install writes \/etc\/kvmnet.conf from the template/);
    expect(doc.stdout + doc.stderr).not.toMatch(/\bE(NOENT|ACCES|PERM|NOTDIR|ISDIR)\b/);
  });
  it("errno codes are told in words, with the path", () => {
    const e = Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: "EACCES", path: "/x" });
    expect(errnoMessage(e)).toBe("/x: permission denied");
    const odd = Object.assign(new Error("EXDEV: cross-device link not permitted, rename 'a' -> 'b'"), {
      code: "EXDEV",
    });
    expect(errnoWords(odd)).toBe("cross-device link not permitted");
    expect(errorText(e)).toBe("/x: permission denied");
    expect(errorText(new CommandError("nft -f -", 1, "Error: syntax error"))).toBe(
      "command failed: nft -f -: Error: syntax error",
    );
  });
});

describe("publish = tcp:0.0.0.0:PORT", () => {
  const NAT = "[nat0]\nmode = nat\nbridge = br0\naddress = 192.0.2.1/24\n";
  it("is every address of the host, the same as no address", () => {
    const n = parseConfig("f", `${NAT}publish = tcp:0.0.0.0:9000=192.0.2.5:9000\n`).networks[0]!;
    expect(n.publish).toEqual([{ proto: "tcp", port: 9000, to: "192.0.2.5", toPort: 9000 }]);
  });
  it("so beside tcp:PORT it is the same port published twice", () => {
    expect(problems(`${NAT}publish = tcp:9000=192.0.2.5:9000, tcp:0.0.0.0:9000=192.0.2.6:9000\n`)).toEqual([
      "5: publish: tcp:0.0.0.0:9000=192.0.2.6:9000: tcp port 9000 is already published",
    ]);
  });
});

describe("a program that cannot be run", () => {
  it("is said in words, not as spawnSync's errno", async () => {
    const { realExec } = await import("../../src/host/exec.js");
    const r = realExec.tryRun("/etc", []);
    expect(r).toMatchObject({ ok: false, stderr: "/etc: permission denied" });
  });
});
