// A host with kvmnet 0.1's per-network firewall (nft `table ip kvmnet-NET`, or iptables chains jumped from the
// built-in chains) gets the shared layout on the network's next hook, in one nft transaction or one
// iptables-restore: a TCP connection through NAT stays up across it and a ping stream loses nothing.
import { afterEach, describe, expect, it } from "vitest";
import { program } from "../helpers/netns.js";
import { expectUnbroken, pingStream } from "../helpers/ping-stream.js";
import { makeLab, OUTSIDE, type Lab } from "../helpers/lab.js";

// kvmnet 0.1's rules for the lab's nat0 (its golden files, with the lab's bridge).
const oldNft = (br: string) => `table ip kvmnet-nat0 {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "${br}" udp dport { 53, 67 } accept
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "${br}" oifname "${br}" accept
		oifname "${br}" ip daddr 192.0.2.0/24 ct state established,related accept
		iifname "${br}" ip saddr 192.0.2.0/24 accept
		iifname "${br}" reject
		oifname "${br}" reject
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 192.0.2.0/24 ip daddr != 192.0.2.0/24 masquerade
	}
}
`;
const oldIptables = (br: string) =>
  [
    "*filter",
    ":KVMNET-INP-nat0 - [0:0]",
    ":KVMNET-FWI-nat0 - [0:0]",
    ":KVMNET-FWO-nat0 - [0:0]",
    `-A KVMNET-INP-nat0 -i ${br} -p udp -m udp --dport 67 -j ACCEPT`,
    `-A KVMNET-FWI-nat0 -i ${br} -o ${br} -j ACCEPT`,
    `-A KVMNET-FWI-nat0 -d 192.0.2.0/24 -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A KVMNET-FWI-nat0 -o ${br} -j REJECT --reject-with icmp-port-unreachable`,
    `-A KVMNET-FWO-nat0 -s 192.0.2.0/24 -i ${br} -j ACCEPT`,
    `-A KVMNET-FWO-nat0 -i ${br} -j REJECT --reject-with icmp-port-unreachable`,
    "-A INPUT -j KVMNET-INP-nat0",
    "-A FORWARD -j KVMNET-FWI-nat0",
    "-A FORWARD -j KVMNET-FWO-nat0",
    "COMMIT",
    "*nat",
    ":KVMNET-PRT-nat0 - [0:0]",
    "-A KVMNET-PRT-nat0 -s 192.0.2.0/24 ! -d 192.0.2.0/24 -j MASQUERADE",
    "-A POSTROUTING -j KVMNET-PRT-nat0",
    "COMMIT",
    "",
  ].join("\n");

// A TCP client in the guest that writes a byte every 10 ms to an echo server outside until its stdin ends, then
// reports what it sent and got back (and when the first and last echo came, ms since the epoch), or the error that
// ended the connection.
const CLIENT = `const s=require('net').connect(7778,'${OUTSIDE}');let sent=0,got=0,first=0,last=0;
s.on('data',d=>{got+=d.length;last=Date.now();first=first||last});s.on('error',e=>{console.log(JSON.stringify({error:e.code}));process.exit(1)});
s.on('connect',()=>{const t=setInterval(()=>{s.write('x');sent++},10);process.stdin.on('end',()=>{
clearInterval(t);setTimeout(()=>{console.log(JSON.stringify({sent,got,first,last}));process.exit(0)},1000)});process.stdin.resume()})`;

describe.each(["nftables", "iptables"] as const)("migration from the per-network layout (%s)", (firewall) => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("the next hook replaces it in one transaction; an established NAT connection and a ping stream go on untouched", async () => {
    lab = await makeLab({ firewall });
    const g = await lab.addGuest("vm0");
    await g.sh("ip addr add 192.0.2.50/24 dev eth0 && ip route add default via 192.0.2.1");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    // Put kvmnet 0.1's rules in place of the new ones.
    if (firewall === "nftables") {
      await lab.host.sh("nft delete table inet kvmnet");
      await lab.host.run("nft", ["-f", "-"], { input: oldNft(lab.bridge) });
    } else {
      await lab.host.sh("iptables-save | grep -v KVMNET | iptables-restore");
      await lab.host.run("iptables-restore", ["--noflush"], { input: oldIptables(lab.bridge) });
    }
    const server = lab.outside.spawn("node", [
      "-e",
      "require('net').createServer(s=>s.pipe(s)).listen(7778,()=>console.log('ready'))",
    ]);
    await new Promise((r) => server.stdout!.once("data", r));
    try {
      const client = g.spawn("node", ["-e", CLIENT]);
      const ping = pingStream(g, OUTSIDE);
      await new Promise((r) => setTimeout(r, 1500));
      // The next VM start on nat0 moves it over (run asynchronously: the streams' timestamps stay honest).
      await lab.addGuest("vm1");
      const hookStart = Date.now();
      const r = await lab.host.spawn(program("qemu-natup"), ["vm1"], {
        env: { KVMNET_CONFIG: lab.conf.file, KVMNET_VERBOSE: "1" },
      });
      const hookEnd = Date.now();
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stderr)).toMatch(firewall === "nftables" ? /delete table ip kvmnet-nat0/ : /-D FORWARD/);
      // The streams go on for a second after the hook, then stop.
      await new Promise((r) => setTimeout(r, 1000));
      client.stdin!.end();
      const c = await client;
      const out = JSON.parse(String(c.stdout)) as { sent: number; got: number; first: number; last: number };
      expect(out.got).toBe(out.sent);
      expect(out.sent).toBeGreaterThan(100);
      // The connection carried echoes before the hook started and after it ended.
      expect(out.first).toBeLessThan(hookStart);
      expect(out.last).toBeGreaterThan(hookEnd);
      expectUnbroken(await ping.stop(), hookStart, hookEnd);
    } finally {
      server.kill("SIGTERM");
    }
    // Nothing of the old layout is left, and the next run finds nothing to do.
    expect(await lab.host.sh("nft list tables | grep kvmnet-nat0 || true")).toBe("");
    expect(await lab.host.sh("iptables -S INPUT; iptables -S FORWARD; iptables -t nat -S POSTROUTING")).not.toMatch(
      /KVMNET-(INP|FWI|FWO|PRT)-/,
    );
    expect((await lab.hook("qemu-natup", "vm1", { KVMNET_VERBOSE: "1" })).stderr).toBe("");
    expect(await lab.ping(g, OUTSIDE)).toBe(true);
  }, 60_000);
});
