// A lease event as dnsmasq runs it (src/cli/lease-event.ts): the pair goes into the guard's set by an `nft -f -`
// transaction and into the lease record in state_dir, both through apply; one failing does not stop the other.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { runLeaseEvent } from "../../src/cli/lease-event.js";
import { guardIpScript } from "../../src/firewall/nft/guard.js";
import { fakeExec } from "../helpers/fake-exec.js";

const dir = mkdtempSync(join(tmpdir(), "kvmnet-lease-"));
chmodSync(dir, 0o755);
const conf = join(dir, "kvmnet.conf");
writeFileSync(
  conf,
  `[global]\nstate_dir = ${dir}\n[n]\nmode = nat\nbridge = kv0\naddress = 192.0.2.1/24\n` +
    "dhcp_range = 192.0.2.100,192.0.2.200\nguard = yes\n",
  { mode: 0o644 },
);
const record = join(dir, "n.guard-leases");
const env = { DNSMASQ_INTERFACE: "kv0", KVMNET_CONFIG: conf };
const A = "52:54:00:00:00:01";
const nftCall = (del: boolean) => `nft -f - <<'EOF'\n${guardIpScript(A, "192.0.2.100", del).trimEnd()}\nEOF`;

afterEach(() => {
  vi.restoreAllMocks();
  rmSync(record, { force: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a lease event", () => {
  it("adds the pair to the set and the record, then a release takes it out of both", async () => {
    const { exec, calls } = fakeExec();
    expect(await runLeaseEvent(["add", A, "192.0.2.100", "guest"], env, exec)).toBe(0);
    expect(readFileSync(record, "utf8")).toBe(`${A} 192.0.2.100\n`);
    expect(await runLeaseEvent(["del", A, "192.0.2.100"], env, exec)).toBe(0);
    expect(readFileSync(record, "utf8")).toBe("");
    expect(calls).toEqual([nftCall(false), nftCall(true)]);
  });

  it("records the pair even when nft fails, and exits 1 naming nft's complaint", async () => {
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const { exec } = fakeExec({ "nft -f -": { ok: false, stderr: "Error: no such table\n" } });
    expect(await runLeaseEvent(["old", A, "192.0.2.100"], env, exec)).toBe(1);
    expect(readFileSync(record, "utf8")).toBe(`${A} 192.0.2.100\n`);
    expect(err).toHaveBeenCalledWith(`kvmnet: lease event old ${A} 192.0.2.100: Error: no such table\n`);
  });

  it("teaches the set even when the config cannot be read, and says the pair is not recorded", async () => {
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const { exec, calls } = fakeExec();
    const missing = { ...env, KVMNET_CONFIG: join(dir, "missing.conf") };
    expect(await runLeaseEvent(["add", A, "192.0.2.100"], missing, exec)).toBe(1);
    expect(calls).toEqual([nftCall(false)]);
    expect(String(err.mock.calls[0]?.[0])).toMatch(/^kvmnet: lease event add .*: not recorded: /);
  });

  it("leaves a DHCPv6 event alone", async () => {
    const { exec, calls } = fakeExec();
    expect(await runLeaseEvent(["add", "00:01:00:01", "2001:db8::5"], { ...env, DNSMASQ_IAID: "7" }, exec)).toBe(0);
    expect(calls).toEqual([]);
  });
});
