// Published ports from hostile input (issue 18 §6): a port published for every address and also bound to one
// address goes, on that address, to the bound entry; tcp:0.0.0.0:PORT means every address (as with Docker); an
// address the host does not have is warned of by kvmnet up and reported by doctor.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, HOST_UPLINK, type Lab } from "../helpers/lab.js";
import { program, type Netns } from "../helpers/netns.js";

const WEB = "52:54:00:88:18:06";
const DB = "52:54:00:88:18:07";
const hosts = `host.web = ${WEB},192.0.2.10\nhost.db = ${DB},192.0.2.11\n`;
const BOUND = "198.51.100.2";

// A TCP server in NS on PORT answering each client with NAME; returns its stop function (kills by pid).
async function serveTcp(ns: Netns, port: number, name: string): Promise<() => void> {
  const js = `require('net').createServer(s=>s.end('${name}\\n')).listen(${port},()=>console.log('ready'))`;
  const child = ns.spawn("node", ["-e", js]);
  await new Promise<void>((ok, fail) => {
    child.stdout!.once("data", () => ok());
    child.once("exit", () => fail(new Error("server exited")));
  });
  return () => child.kill("SIGTERM");
}

async function ask(ns: Netns, address: string, port: number): Promise<string> {
  const r = await ns.tryRun("busybox", ["nc", "-w", "3", address, String(port)], { timeout: 10_000 });
  return String(r.stdout).trim();
}

describe("published ports: wildcard and bound, 0.0.0.0, an address the host lacks", () => {
  let lab: Lab;
  const stops: (() => void)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) s();
    await lab?.destroy();
  });

  it("the bound entry wins on its address, the wildcard takes the rest; 0.0.0.0 is every address; a missing address is warned of", async () => {
    const publish =
      `publish = tcp:9000=web:9000, tcp:${BOUND}:9000=db:9000, tcp:0.0.0.0:9100=web:9100, ` +
      "tcp:203.0.113.77:9200=web:9200\n";
    lab = await makeLab({ section: (br) => natSection(br, `${hosts}${publish}`) });
    await lab.host.sh(`ip addr add ${BOUND}/24 dev up0`);
    await lab.outside.sh("ip addr add 198.51.100.3/24 dev eth0");
    const env = { KVMNET_CONFIG: lab.conf.file };
    const up = await lab.host.tryRun(program("kvmnet"), ["up", "nat0"], { env });
    expect(up.exitCode, String(up.stderr)).toBe(0);
    expect(String(up.stderr)).toContain(
      "warning: publish tcp:203.0.113.77:9200 of network nat0: 203.0.113.77 is not an address of this host",
    );
    expect(String(up.stderr)).not.toContain(BOUND);
    const web = await lab.addGuest("vm0", WEB);
    const db = await lab.addGuest("vm1", DB);
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.hook("qemu-natup", "vm1")).code).toBe(0);
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
    expect((await lab.dhcp(db))?.ip).toBe("192.0.2.11");
    stops.push(await serveTcp(web, 9000, "web"), await serveTcp(db, 9000, "db"), await serveTcp(web, 9100, "web"));

    expect(await ask(lab.outside, BOUND, 9000)).toBe("db");
    expect(await ask(lab.outside, HOST_UPLINK, 9000)).toBe("web");
    expect(await ask(lab.outside, HOST_UPLINK, 9100)).toBe("web");
    expect(await ask(lab.outside, BOUND, 9100)).toBe("web");

    const doc = await lab.host.tryRun(program("kvmnet"), ["doctor", "--json"], { env });
    const checks = (JSON.parse(String(doc.stdout)) as { checks: { id: string; level: string; message: string }[] })
      .checks;
    expect(checks.filter((c) => c.id === "publish")).toEqual([
      expect.objectContaining({
        level: "warn",
        message: expect.stringContaining("publish tcp:203.0.113.77:9200 is bound to 203.0.113.77"),
      }),
    ]);
  });
});
