// Published ports (`publish`, nat networks): reachable from the outside, from the host itself and from the
// network's own guests (hairpin, masqueraded so the answer comes back through the host), never from 127.0.0.0/8;
// a changed UDP publish takes even a flow already going (its conntrack entries are flushed).
import { until } from "../helpers/guard.js";
import { afterEach, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { makeLab, natSection, HOST_UPLINK, type Lab } from "../helpers/lab.js";
import type { Netns } from "../helpers/netns.js";

const WEB = "52:54:00:88:88:88";
const DB = "52:54:00:88:88:89";
const hosts = `host.web = ${WEB},192.0.2.10\nhost.db = ${DB},192.0.2.11\n`;

// A TCP server in NS on PORT answering each client with "NAME REMOTE-ADDRESS"; returns its stop function.
async function serveTcp(ns: Netns, port: number, name: string): Promise<() => void> {
  const js = `require('net').createServer(s=>s.end('${name} '+s.remoteAddress.replace('::ffff:','')+'\\n')).listen(${port},()=>console.log('ready'))`;
  const child = ns.spawn("node", ["-e", js]);
  await new Promise<void>((ok, fail) => {
    child.stdout!.once("data", () => ok());
    child.once("exit", () => fail(new Error("server exited")));
  });
  return () => child.kill("SIGTERM");
}

// A UDP receiver in NS on PORT that appends each datagram to its output; returns how many it got, and stop.
async function serveUdp(ns: Netns, port: number) {
  const js = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',()=>{n++;console.log(n)});s.bind(${port},()=>console.log('ready'))`;
  const child = ns.spawn("node", ["-e", js]);
  let got = 0;
  await new Promise<void>((ok, fail) => {
    child.stdout!.on("data", (d: Buffer) => {
      for (const l of d.toString().split("\n")) {
        if (l === "ready") ok();
        else if (/^\d+$/.test(l)) got = Number(l);
      }
    });
    child.once("exit", () => fail(new Error("udp server exited")));
  });
  return { count: () => got, stop: () => child.kill("SIGTERM") };
}

async function ask(ns: Netns, address: string, port: number): Promise<string> {
  return String(
    (await ns.tryRun("busybox", ["nc", "-w", "3", address, String(port)], { timeout: 10_000 })).stdout,
  ).trim();
}

describe("published ports", () => {
  let lab: Lab;
  const stops: (() => void)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) s();
    await lab?.destroy();
  });

  it("tcp:8080=web:80 answers from the outside, from the host, and from a guest of the network (hairpin); not on 127.0.0.1", async () => {
    lab = await makeLab({ section: (br) => natSection(br, `${hosts}publish = tcp:8080=web:80\n`) });
    const web = await lab.addGuest("vm0", WEB);
    const other = await lab.addGuest("vm1");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.hook("qemu-natup", "vm1")).code).toBe(0);
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
    expect((await lab.dhcp(other))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    stops.push(await serveTcp(web, 80, "web"));
    // From the outside: the guest sees the outside's own address (no masquerade on the way in).
    expect(await ask(lab.outside, HOST_UPLINK, 8080)).toBe("web 203.0.113.2");
    // From the host itself, to its uplink address and to the bridge address.
    expect(await ask(lab.host, HOST_UPLINK, 8080)).toMatch(/^web /);
    expect(await ask(lab.host, "192.0.2.1", 8080)).toMatch(/^web /);
    // Hairpin: another guest of the network, through the host's address; masqueraded to the bridge address.
    expect(await ask(other, HOST_UPLINK, 8080)).toBe("web 192.0.2.1");
    // Not on loopback.
    expect(await ask(lab.host, "127.0.0.1", 8080)).toBe("");
    // Idempotent: a third VM changes nothing but its attach.
    await lab.addGuest("vm2");
    expect((await lab.hook("qemu-natup", "vm2", { KVMNET_VERBOSE: "1" })).stderr).toBe(
      `qemu-natup: ip link set dev vm2 mtu 1500 master ${lab.bridge} up`,
    );
  });

  it("control: without publish the outside reaches nothing on port 8080", async () => {
    lab = await makeLab({ section: (br) => natSection(br, hosts) });
    const web = await lab.addGuest("vm0", WEB);
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
    stops.push(await serveTcp(web, 80, "web"));
    expect(await ask(lab.outside, HOST_UPLINK, 8080)).toBe("");
  });

  it("bound to one host address: answers there only", async () => {
    lab = await makeLab({ section: (br) => natSection(br, `${hosts}publish = tcp:${HOST_UPLINK}:8080=web:80\n`) });
    const web = await lab.addGuest("vm0", WEB);
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
    stops.push(await serveTcp(web, 80, "web"));
    expect(await ask(lab.outside, HOST_UPLINK, 8080)).toMatch(/^web /);
    expect(await ask(lab.host, "192.0.2.1", 8080)).toBe("");
  });

  it.each([
    ["with conntrack: a flow already going moves to the new target", true],
    ["control, no conntrack tool: the flow does not move to the new target", false],
  ])("changing a UDP publish, %s", async (_n, withConntrack) => {
    lab = await makeLab({ section: (br) => natSection(br, `${hosts}publish = udp:5353=web:5353\n`) });
    const web = await lab.addGuest("vm0", WEB);
    const db = await lab.addGuest("vm1", DB);
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.hook("qemu-natup", "vm1")).code).toBe(0);
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
    expect((await lab.dhcp(db))?.ip).toBe("192.0.2.11");
    const atWeb = await serveUdp(web, 5353);
    const atDb = await serveUdp(db, 5353);
    stops.push(atWeb.stop, atDb.stop);
    // One flow (same source port) from the outside, a datagram every 50 ms.
    const js = `const s=require('dgram').createSocket('udp4');s.bind(40000,()=>setInterval(()=>s.send('x',5353,'${HOST_UPLINK}'),50))`;
    const sender = lab.outside.spawn("node", ["-e", js]);
    stops.push(() => sender.kill("SIGTERM"));
    // The flow is going (the sender's node may take seconds to start on a loaded machine).
    expect(await until(async () => atWeb.count() > 3, 60_000)).toBe(true);
    writeFileSync(lab.conf.file, readFileSync(lab.conf.file, "utf8").replace("udp:5353=web:5353", "udp:5353=db:5353"));
    // The control's PATH starts with a conntrack that does nothing (kvmnet appends the system directories).
    const fake = `${lab.conf.dir}/bin`;
    mkdirSync(fake);
    writeFileSync(`${fake}/conntrack`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const env: Record<string, string> = withConntrack ? {} : { PATH: `${fake}:/usr/bin:/bin` };
    await lab.addGuest("vm2");
    const r = await lab.hook("qemu-natup", "vm2", env);
    expect(r.code, r.stderr).toBe(0);
    const before = atDb.count();
    if (withConntrack) expect(await until(async () => atDb.count() - before > 5, 60_000)).toBe(true);
    else {
      await new Promise((r) => setTimeout(r, 800));
      expect(atDb.count()).toBe(0);
    }
  });
});
