// Hooks served by kvmnet watch, the pure parts: the request's shape, the state_dir read from the config's text
// without the config's parser, the read cache (on a fake executor: what it runs and when), one run at a time.
import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../../src/config/validate.js";
import {
  DEFAULT_STATE_DIR,
  parseRequest,
  SERVED_HOOKS,
  SERVED_PROTOCOL,
  stateDirOf,
  type HookRequest,
} from "../../src/core/served.js";
import { Serial } from "../../src/core/serial.js";
import { nftListening } from "../../src/cli/watch-sources.js";
import type { Exec, RunResult } from "../../src/host/exec.js";
import { ReadCache } from "../../src/host/read-cache.js";
import { rulesetCommand } from "../../src/firewall/ruleset-reads.js";
import { HOOKS } from "../../src/programs.js";

describe("the request", () => {
  it("serves exactly the hook programs, with the config's default state_dir", () => {
    expect([...SERVED_HOOKS].sort()).toEqual(Object.keys(HOOKS).sort());
    expect(DEFAULT_STATE_DIR).toBe(DEFAULTS.stateDir);
  });

  const good: HookRequest = {
    v: SERVED_PROTOCOL,
    build: "b",
    runAs: "qemu-natup",
    args: ["vm0"],
    env: { KVMNET_CONFIG: "/etc/k.conf" },
    netns: "net:[4026531840]",
    ppid: 42,
    config: "/etc/k.conf",
    stateDir: "/run/kvmnet",
    kvmnet: "'/usr/bin/kvmnet'",
  };

  it("takes a well-formed request and refuses any other, saying what is wrong", () => {
    expect(parseRequest(JSON.stringify(good))).toEqual(good);
    expect(parseRequest("{")).toBe("not JSON");
    expect(parseRequest("[]")).toBe("not an object");
    expect(parseRequest(JSON.stringify({ ...good, v: 2 }))).toBe(`protocol 2, not ${SERVED_PROTOCOL}`);
    expect(parseRequest(JSON.stringify({ ...good, args: [1] }))).toBe("args is not a list of strings");
    expect(parseRequest(JSON.stringify({ ...good, ppid: "1" }))).toBe("ppid is not a number");
    expect(parseRequest(JSON.stringify({ ...good, netns: null }))).toBe("netns is not a string");
    // Only the variables that change what a hook does: not PATH, not NODE_OPTIONS.
    expect(parseRequest(JSON.stringify({ ...good, env: { NODE_OPTIONS: "--require /tmp/x" } }))).toBe(
      "env NODE_OPTIONS is not allowed",
    );
  });
});

describe("the state_dir from the config's text", () => {
  it("reads [global] state_dir, or the default when none is set", () => {
    expect(stateDirOf("[global]\nstate_dir = /tmp/k/run\n[nat]\nmode = nat\n")).toBe("/tmp/k/run");
    expect(stateDirOf("[global]\nstate_dir=/srv/run/\n")).toBe("/srv/run");
    expect(stateDirOf("; comment\n[nat]\nmode = nat\n")).toBe(DEFAULT_STATE_DIR);
    // In another section it is not the global one.
    expect(stateDirOf("[nat]\nstate_dir = /x\n")).toBe(DEFAULT_STATE_DIR);
    expect(stateDirOf("# state_dir = /x\n[global]\n; state_dir = /y\n")).toBe(DEFAULT_STATE_DIR);
  });

  it("gives up (null: the hook runs on its own) on what only the config's parser can tell", () => {
    expect(stateDirOf('[global]\nstate_dir = "/quoted"\n')).toBeNull();
    expect(stateDirOf("[global]\nstate_dir = relative/run\n")).toBeNull();
    expect(stateDirOf("[global]\nstate_dir = /a ; comment\n")).toBeNull();
    expect(stateDirOf("[global]\nstate_dir = /a\nstate_dir = /b\n")).toBeNull();
  });
});

// A fake executor: answers from ANSWERS (by command line), recording each call.
function fake(answers: Record<string, string>) {
  const calls: string[] = [];
  const exec: Exec = {
    tryRun(cmd, args): RunResult {
      const line = [cmd, ...args].join(" ");
      calls.push(line);
      const out = answers[line];
      return out === undefined
        ? { ok: false, code: 1, stdout: "", stderr: "no" }
        : { ok: true, code: 0, stdout: out, stderr: "" };
    },
  };
  return { exec, calls, answers };
}

describe("the read cache", () => {
  const isList = (cmd: string, a: string[]) => (cmd !== "nft" ? "other" : a[0] === "list" ? "read" : "change");

  it("answers a read from its last answer until told of a change", () => {
    const f = fake({ "nft list chain c": "v1" });
    const cache = new ReadCache(f.exec, isList);
    expect(cache.exec.tryRun("nft", ["list", "chain", "c"]).stdout).toBe("v1");
    f.answers["nft list chain c"] = "v2";
    expect(cache.exec.tryRun("nft", ["list", "chain", "c"]).stdout).toBe("v1");
    expect(f.calls).toEqual(["nft list chain c"]);
    cache.changed();
    expect(cache.exec.tryRun("nft", ["list", "chain", "c"]).stdout).toBe("v2");
    expect(f.calls).toHaveLength(2);
  });

  it("runs the tool's writes every time and forgets its reads after one; other tools just run", () => {
    const f = fake({ "nft list chain c": "v1", "nft -f -": "", "ip link set x up": "" });
    const cache = new ReadCache(f.exec, isList);
    cache.exec.tryRun("nft", ["list", "chain", "c"]);
    cache.exec.tryRun("ip", ["link", "set", "x", "up"]);
    cache.exec.tryRun("ip", ["link", "set", "x", "up"]);
    cache.exec.tryRun("nft", ["list", "chain", "c"]);
    expect(f.calls).toEqual(["nft list chain c", "ip link set x up", "ip link set x up"]);
    cache.exec.tryRun("nft", ["-f", "-"], "flush chain inet kvmnet c");
    cache.exec.tryRun("nft", ["list", "chain", "c"]);
    expect(f.calls.slice(3)).toEqual(["nft -f -", "nft list chain c"]);
  });

  it("keeps no failed answer", () => {
    const f = fake({});
    const cache = new ReadCache(f.exec, isList);
    expect(cache.exec.tryRun("nft", ["list", "chain", "c"]).ok).toBe(false);
    f.answers["nft list chain c"] = "there now";
    expect(cache.exec.tryRun("nft", ["list", "chain", "c"]).stdout).toBe("there now");
  });
});

describe("which commands only read rulesets nft monitor sees", () => {
  it("nft's listings and iptables-nft's saves; every other firewall tool's command may change one", () => {
    expect(rulesetCommand("nft", ["list", "chain", "inet", "kvmnet", "from-nat0"])).toBe("read");
    expect(rulesetCommand("iptables-nft-save", ["-t", "filter"])).toBe("read");
    expect(rulesetCommand("nft", ["-f", "-"])).toBe("change");
    expect(rulesetCommand("nft", ["list", "-f", "x"])).toBe("change");
    // iptables-save may be iptables-legacy's, whose changes nft monitor never reports: not kept.
    for (const cmd of ["iptables-save", "iptables", "ip6tables-restore", "iptables-nft", "ebtables", "firewall-cmd"])
      expect(rulesetCommand(cmd, []), cmd).toBe("change");
    expect(rulesetCommand("ip", ["link", "set", "vm0", "up"])).toBe("other");
  });
});

describe("whether nft monitor listens", () => {
  it("is false for a process without a subscribed netfilter socket (this one), and for no process", () => {
    expect(nftListening(process.pid)).toBe(false);
    expect(nftListening(0x7ffffffe)).toBe(false);
  });
});

describe("one run at a time", () => {
  it("runs each function after the ones given before it, failed or not", async () => {
    const serial = new Serial();
    const seen: string[] = [];
    let release = () => {};
    const first = serial.run(
      () =>
        new Promise<void>((r) => {
          seen.push("first starts");
          release = () => {
            seen.push("first ends");
            r();
          };
        }),
    );
    const failing = serial.run(() => {
      seen.push("second");
      throw new Error("boom");
    });
    const third = serial.run(() => seen.push("third"));
    await Promise.resolve();
    expect(seen).toEqual(["first starts"]);
    release();
    await first;
    await expect(failing).rejects.toThrow("boom");
    await third;
    expect(seen).toEqual(["first starts", "first ends", "second", "third"]);
  });
});
