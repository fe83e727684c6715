// Parsing input chains with policy drop, and which networks' DHCP they drop.
import { describe, expect, it } from "vitest";
import { inputAffected, parseIptablesInputDrop, parseNftInputDrops } from "../../src/coexist/input-drop.js";
import { parseConfig } from "../../src/config/validate.js";

const NFT = `table inet hostfw {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iifname "lo" accept
		iifname "natbr0" udp dport { 53, 67 } accept
		tcp dport 22 accept
	}
}
table ip kvmnet-nat0 {
	chain input {
		type filter hook input priority filter; policy drop;
	}
}
table inet open {
	chain input {
		type filter hook input priority filter; policy accept;
	}
}`;

describe("input chains with policy drop", () => {
  it("finds them in nft list ruleset with the bridges whose DHCP they accept, skipping kvmnet's own", () => {
    expect(parseNftInputDrops(NFT)).toEqual([
      { family: "inet", table: "hostfw", chain: "input", accepts: ["lo", "natbr0"] },
    ]);
    const any = NFT.replace('iifname "natbr0" udp dport { 53, 67 } accept', "udp dport 67 accept");
    expect(parseNftInputDrops(any)[0]!.accepts).toEqual(["lo", "*"]);
  });
  it("finds :INPUT DROP in iptables-save output", () => {
    const text =
      "*filter\n:INPUT DROP [0:0]\n-A INPUT -i isobr -p udp -m multiport --dports 53,67 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    expect(parseIptablesInputDrop(text)).toEqual([
      { family: "ip", table: "filter", chain: "INPUT", accepts: ["isobr"] },
    ]);
    expect(parseIptablesInputDrop("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")).toEqual([]);
  });
  it("drops the DHCP of networks with dhcp_range whose bridge it does not accept", () => {
    const text = (fw: string) =>
      `[global]\nfirewall = ${fw}\n[a]\nmode = nat\nbridge = natbr0\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.10,192.0.2.20\n` +
      `[b]\nmode = host-only\nbridge = hobr\naddress = 198.51.100.1/24\ndhcp_range = 198.51.100.10,198.51.100.20\n[c]\nmode = routed\nbridge = rtbr\naddress = 203.0.113.1/24\n`;
    const nft = parseConfig("/x.conf", text("nftables"));
    expect(inputAffected(parseNftInputDrops(NFT)[0]!, nft).map((n) => n.name)).toEqual(["b"]);
    const ipt = parseIptablesInputDrop("*filter\n:INPUT DROP [0:0]\nCOMMIT\n")[0]!;
    expect(inputAffected(ipt, nft).map((n) => n.name)).toEqual(["a", "b"]);
    expect(inputAffected(ipt, parseConfig("/x.conf", text("iptables")))).toEqual([]);
  });
});
