// Recording a dnsmasq kvmnet started (src/decide/dnsmasq-record.ts): from the daemons found after the start and the
// bridge's ifindex seen before it, given as data.
import { describe, expect, it } from "vitest";
import type { Step } from "../../src/core/steps.js";
import { dnsmasqRecordSteps } from "../../src/decide/dnsmasq-record.js";
import { CommandError } from "../../src/errors.js";

const start: Extract<Step, { kind: "dnsmasq-start" }> = {
  kind: "dnsmasq-start",
  conf: "/run/k/n.dnsmasq.conf",
  pidFile: "/run/k/n.dnsmasq.pid",
  ifindexFile: "/run/k/n.dnsmasq.ifindex",
  bridge: "kv0",
};

describe("recording a started dnsmasq", () => {
  it("writes the ifindex, then the pid beside it (root's, 0644)", () => {
    expect(dnsmasqRecordSteps(start, "7", [4242])).toEqual([
      { kind: "write", path: "/run/k/n.dnsmasq.ifindex", content: "7\n", mode: 0o644 },
      { kind: "write", path: "/run/k/n.dnsmasq.pid", content: "4242\n", mode: 0o644 },
    ]);
  });
  it("records an empty ifindex when the bridge was missing (the next run restarts the daemon)", () => {
    expect(dnsmasqRecordSteps(start, "", [4242])[0]).toMatchObject({ content: "\n" });
  });
  it("fails, naming the command, when no daemon or several run with the config", () => {
    expect(() => dnsmasqRecordSteps(start, "7", [])).toThrow(
      "command failed: dnsmasq --conf-file=/run/k/n.dnsmasq.conf: dnsmasq exited 0 but no dnsmasq with this config runs",
    );
    expect(() => dnsmasqRecordSteps(start, "7", [10, 11])).toThrow(/several dnsmasqs .* \(pids 10, 11\)/);
    expect(() => dnsmasqRecordSteps(start, "7", [])).toThrow(CommandError);
  });
});
