// kvmnet doctor's readers and judgements on recorded tool output: what counts as a conflict, for which network.
import { describe, expect, it } from "vitest";
import { fakeExec } from "../helpers/fake-exec.js";
import { affectedBy, parseIptablesForwardDrop, parseNftForwardDrops } from "../../src/coexist/forward-drop.js";
import { checkBrNetfilter, checkForwarding, checkTun } from "../../src/cli/doctor/kernel.js";
import { checkNetworkManager, parseNmcliDevices } from "../../src/cli/doctor/nm.js";
import { blocks } from "../../src/cli/doctor/bind-ports-check.js";
import { parseSs } from "../../src/cli/doctor/sockets.js";
import { checkTools } from "../../src/cli/doctor/tools.js";
import type { DoctorContext } from "../../src/coexist/finding.js";
import { render } from "../../src/cli/doctor.js";
import { paint } from "../../src/cli/output.js";
import { parseConfig } from "../../src/config/validate.js";

const conf = (global = "") =>
  parseConfig(
    "/c",
    `${global}
[nat0]
mode = nat
bridge = natbr0
address = 192.0.2.1/24
dhcp_range = 192.0.2.10,192.0.2.20
[iso]
mode = isolated
bridge = isobr
[lan]
mode = bridge
bridge = br0
`,
  );
const ctx = (files: Record<string, string>, over: Partial<DoctorContext> = {}): DoctorContext => ({
  config: conf(),
  env: { PATH: "/nonexistent" },
  exec: fakeExec().exec,
  read: (p) => files[p] ?? null,
  ...over,
});

const NFT = `table ip filter {
	chain DOCKER-USER {
		iifname "natbr0" counter packets 0 bytes 0 accept
	}
	chain FORWARD {
		type filter hook forward priority filter; policy drop;
		counter packets 0 bytes 0 jump DOCKER-USER
	}
}
table ip kvmnet-nat0 {
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
}
table inet fw {
	chain input {
		type filter hook input priority filter; policy drop;
	}
}`;

describe("forward chains with policy drop", () => {
  it("finds them in nft list ruleset, with the bridges let through, and skips kvmnet's own tables and other hooks", () => {
    expect(parseNftForwardDrops(NFT)).toEqual([
      { family: "ip", table: "filter", chain: "FORWARD", accepts: ["in:natbr0"] },
    ]);
  });
  it("finds :FORWARD DROP of the filter table in iptables-save output", () => {
    const text =
      "*nat\n:FORWARD DROP [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [3:180]\n-A DOCKER-USER -o isobr -j ACCEPT\n-A DOCKER-USER -i isobr -j ACCEPT\nCOMMIT\n";
    expect(parseIptablesForwardDrop(text)).toEqual([
      { family: "ip", table: "filter", chain: "FORWARD", accepts: ["out:isobr", "in:isobr"] },
    ]);
    expect(parseIptablesForwardDrop("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n")).toEqual([]);
  });
  const drop = { family: "inet", table: "docker", chain: "fwd", accepts: [] as string[] };
  const names = (c: ReturnType<typeof conf>, d: typeof drop, brNf: boolean) =>
    affectedBy(d, c, brNf).map((n) => n.name);
  it("breaks nat/routed always; isolated and bridge networks only when br_netfilter sends bridged frames through", () => {
    expect(names(conf(), drop, false)).toEqual(["nat0"]);
    expect(names(conf(), drop, true)).toEqual(["nat0", "iso", "lan"]);
    expect(names(conf(), { ...drop, family: "bridge" }, false)).toEqual(["nat0", "iso", "lan"]);
    expect(names(conf(), { ...drop, family: "ip6" }, true)).toEqual([]);
  });
  it("spares networks whose bridge the chain lets in and out, and, with firewall = iptables, those kvmnet's FORWARD jump accepts", () => {
    expect(names(conf(), { ...drop, accepts: ["in:natbr0", "out:natbr0"] }, false)).toEqual([]);
    expect(names(conf(), { ...drop, accepts: ["in:natbr0"] }, false)).toEqual(["nat0"]);
    const ipt = { family: "ip", table: "filter", chain: "FORWARD", accepts: [] };
    expect(names(conf("[global]\nfirewall = iptables"), ipt, true)).toEqual(["lan"]);
    expect(names(conf(), ipt, true)).toEqual(["nat0", "iso", "lan"]);
  });
});

describe("sockets on 53 and 67", () => {
  const ss = `UNCONN 0      0            192.0.2.1:53 0.0.0.0:* users:(("dnsmasq",pid=11717,fd=6))
UNCONN 0      0      0.0.0.0%natbr0:67 0.0.0.0:* users:(("dnsmasq",pid=11717,fd=4))
UNCONN 0      0      0.0.0.0%virbr0:67 0.0.0.0:* users:(("dnsmasq",pid=900,fd=4))
UNCONN 0      0      127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=300,fd=13))
UNCONN 0      0            0.0.0.0:67 0.0.0.0:*`;
  const socks = parseSs("udp", ss);
  it("parses address, bound device, port and owners from ss", () => {
    expect(socks[1]).toEqual({
      proto: "udp",
      address: "0.0.0.0",
      device: "natbr0",
      port: 67,
      owners: [{ comm: "dnsmasq", pid: 11717 }],
    });
    expect(socks[4]).toEqual({ proto: "udp", address: "0.0.0.0", device: null, port: 67, owners: [] });
  });
  it("a socket blocks the bridge's dnsmasq on its address or the wildcard, unless bound to another device", () => {
    expect(socks.map((s) => blocks(s, "natbr0", "192.0.2.1"))).toEqual([true, true, false, false, true]);
    expect(
      blocks({ proto: "tcp", address: "0.0.0.0", device: null, port: 67, owners: [] }, "natbr0", "192.0.2.1"),
    ).toBe(false);
  });
});

describe("kernel checks", () => {
  it("/dev/net/tun", () => {
    expect(checkTun(ctx({ "/dev/net/tun": "" })).level).toBe("ok");
    const f = checkTun(ctx({}));
    expect(f.level).toBe("fail");
    expect(f.fix).toMatch(/modprobe tun/);
  });
  it("forwarding off is fine until a nat network is up", () => {
    expect(checkForwarding(ctx({ "/proc/sys/net/ipv4/ip_forward": "1\n" })).level).toBe("ok");
    // natbr0 does not exist on this machine, so nat0 is not up: kvmnet will turn forwarding on.
    expect(checkForwarding(ctx({ "/proc/sys/net/ipv4/ip_forward": "0\n" }))).toMatchObject({
      level: "ok",
      message: /turns it on when nat0 comes up/,
    });
  });
  it("br_netfilter: absent or 0 is ok; 1 warns and names bridge networks", () => {
    const p = "/proc/sys/net/bridge/bridge-nf-call-iptables";
    expect(checkBrNetfilter(ctx({})).level).toBe("ok");
    expect(checkBrNetfilter(ctx({ [p]: "0\n" })).level).toBe("ok");
    expect(checkBrNetfilter(ctx({ [p]: "1\n" }))).toMatchObject({
      level: "warn",
      networks: ["lan"],
      fix: /bridge-nf-call-iptables=0/,
    });
  });
});

describe("tools and NetworkManager", () => {
  it("names the tool, the networks needing it and the Debian package", () => {
    const f = checkTools(ctx({}));
    expect(f.map((x) => [x.id, x.level, x.fix])).toEqual([
      ["tool-ip", "fail", "apt-get install iproute2"],
      ["tool-nft", "fail", "apt-get install nftables"],
      ["tool-dnsmasq", "fail", "apt-get install dnsmasq-base"],
    ]);
    expect(f[2]!.message).toBe("dnsmasq not found in PATH; needed for DHCP and DNS (dhcp_range): nat0");
    expect(checkTools(ctx({}, { config: conf("[global]\nfirewall = iptables") })).map((x) => x.id)).toEqual([
      "tool-ip",
      "tool-iptables-save",
      "tool-iptables-restore",
      "tool-dnsmasq",
    ]);
  });
  it("parses nmcli's terse output", () => {
    expect(parseNmcliDevices("natbr0:connected\nbr0:connected (externally)\nweird\\:name:unmanaged\n")).toEqual(
      new Map([
        ["natbr0", "connected"],
        ["br0", "connected (externally)"],
        ["weird:name", "unmanaged"],
      ]),
    );
  });
  it("is ok without nmcli in PATH", () => {
    expect(checkNetworkManager(ctx({}))).toMatchObject({ level: "ok", message: /not installed/ });
  });
});

describe("report", () => {
  it("one line per finding, the fix under what is wrong, a summary", () => {
    const text = render(
      [
        { id: "a", level: "ok", message: "fine", fix: "never shown" },
        { id: "b", level: "warn", message: "hmm", fix: "do x" },
        { id: "c", level: "fail", message: "broken\nsecond line", fix: "do y" },
      ],
      paint(false),
    );
    expect(text).toBe(
      "ok    fine\nwarn  hmm\n      fix: do x\nFAIL  broken\n      second line\n      fix: do y\n\n1 problem would break a configured network, 1 warning",
    );
  });
});
