// address6 against the host (issue 18 §6): a prefix the host already routes elsewhere is refused before anything
// changes, as an IPv4 subnet is; an address6 removed from the config leaves the bridge (a step of `kvmnet up`),
// and status counts it as pending until then.
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

async function kvmnet(lab: Lab, args: string[]) {
  const r = await lab.host.tryRun(program("kvmnet"), args, { env: { KVMNET_CONFIG: lab.conf.file }, timeout: 60_000 });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

async function pending(lab: Lab): Promise<number> {
  const r = await kvmnet(lab, ["status", "nat0", "--json"]);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as { networks: { pending: number }[] }).networks[0]!.pending;
}

const lineOf = (text: string, key: string) => text.split("\n").findIndex((l) => l.startsWith(`${key} =`)) + 1;

describe("address6 and the host", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("a prefix inside the uplink's /64 is refused at its line, and nothing is made", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "address6 = 2001:db8:1::5/64\n") });
    await lab.host.sh("ip addr add 2001:db8:1::1/64 dev up0 nodad");
    const line = lineOf(readFileSync(lab.conf.file, "utf8"), "address6");
    const want =
      `kvmnet: ${lab.conf.file}:${line}: address6: prefix 2001:db8:1::/64 collides with the host's route ` +
      "2001:db8:1::/64 dev up0: choose a free prefix";
    const r = await kvmnet(lab, ["up", "nat0"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(want);
    expect(await (await lab.host.tryRun("test", ["-e", `/sys/class/net/${lab.bridge}`])).exitCode).not.toBe(0);
    expect(await lab.host.sh("nft list tables")).toBe("");
    // A longer route inside it (a /56 that holds it, via a router) too; check says so as well.
    await lab.host.sh("ip addr del 2001:db8:1::1/64 dev up0 && ip addr add 2001:db8:2::1/64 dev up0 nodad");
    await lab.host.sh("ip -6 route add 2001:db8:1::/56 via 2001:db8:2::2 dev up0");
    const c = await kvmnet(lab, ["check"]);
    expect(c.code, c.out + c.err).toBe(2);
    expect(c.out + c.err).toContain(
      `${lab.conf.file}:${line}: address6: prefix 2001:db8:1::/64 collides with the host's route 2001:db8:1::/56 dev up0 via 2001:db8:2::2`,
    );
    // Control: a free prefix comes up.
    writeFileSync(lab.conf.file, readFileSync(lab.conf.file, "utf8").replace("2001:db8:1::5/64", "fd00:18:6::1/64"));
    const ok = await kvmnet(lab, ["up", "nat0"]);
    expect(ok.code, ok.err).toBe(0);
  });

  it("address6 removed: status shows it pending, up removes it from the bridge, then nothing is pending", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "address6 = fd00:18:6::1/64\n") });
    const up = await kvmnet(lab, ["up", "nat0"]);
    expect(up.code, up.err).toBe(0);
    const global6 = async () =>
      await lab.host.sh(`ip -6 -o addr show dev ${lab.bridge} scope global | awk '{print $4}'`);
    expect(await global6()).toBe("fd00:18:6::1/64");
    expect(await pending(lab)).toBe(0);
    writeFileSync(lab.conf.file, readFileSync(lab.conf.file, "utf8").replace(/^address6 = .*\n/m, ""));
    expect(await pending(lab)).toBeGreaterThan(0);
    const plan = await kvmnet(lab, ["plan", "nat0"]);
    expect(plan.out).toContain(`address del fd00:18:6::1/64 dev ${lab.bridge}`);
    const again = await kvmnet(lab, ["up", "nat0"]);
    expect(again.code, again.err).toBe(0);
    expect(await global6()).toBe("");
    expect(await pending(lab)).toBe(0);
  });
});
