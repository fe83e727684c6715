// What the packages ship besides the program: man pages that render without warnings and whose example is a
// valid config, maintainer scripts that parse, and the NetworkManager drop-in.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execaSync } from "execa";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { ROOT } from "../helpers/netns.js";

function render(page: string) {
  const r = execaSync("man", ["--warnings", "-l", join(ROOT, "man", page)], {
    env: { MANWIDTH: "100", LC_ALL: "C.UTF-8", MANPAGER: "cat" },
    reject: false,
  });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

describe("man pages", () => {
  it.each([
    [
      "kvmnet.8",
      ["NAME", "SYNOPSIS", "PROGRAMS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"],
    ],
    ["kvmnet.conf.5", ["NAME", "[global]", "MODES", "NETWORK KEYS", "EXAMPLE", "FILES", "SEE ALSO"]],
  ])("%s renders without a warning", (page, sections) => {
    const r = render(page);
    expect(r).toMatchObject({ code: 0, err: "" });
    for (const s of sections) expect(r.out).toMatch(new RegExp(`^${s.replace(/[[\]]/g, "\\$&")}$`, "m"));
  });

  it("kvmnet(8): each command is its own entry under COMMANDS (reapply ran into metrics)", () => {
    const out = render("kvmnet.8").out;
    const commands = /^COMMANDS\n([\s\S]*?)\n^EXIT STATUS$/m.exec(out)![1]!;
    const tags = [...commands.matchAll(/^ {7}([a-z]+)/gm)].map((m) => m[1]);
    const synopsis = [.../^SYNOPSIS\n([\s\S]*?)\n^DESCRIPTION$/m.exec(out)![1]!.matchAll(/^ {7}kvmnet ([a-z]+)/gm)].map(
      (m) => m[1],
    );
    expect(tags).toContain("reapply");
    expect(new Set(tags)).toEqual(new Set(synopsis));
  });

  it("kvmnet.conf(5) documents every key the parser knows", async () => {
    const { GLOBAL_KEYS, NETWORK_KEYS } = await import("../../src/config/keys.js");
    const out = render("kvmnet.conf.5").out;
    for (const key of [...GLOBAL_KEYS, ...Object.keys(NETWORK_KEYS)])
      expect(out, key).toMatch(new RegExp(`^ {7}${key.replace(".", "\\.")} = `, "m"));
  });

  it("kvmnet.conf(5)'s example is a valid config", () => {
    const src = readFileSync(join(ROOT, "man/kvmnet.conf.5"), "utf8");
    const example = /^\.SH EXAMPLE\n\.in \+4n\n\.EX\n([\s\S]*?)\n\.EE$/m.exec(src)![1]!.replace(/\\-/g, "-");
    expect(parseConfig("kvmnet.conf.5", example).networks.map((n) => `${n.name}:${n.mode}`)).toEqual([
      "nat0:nat",
      "lan:bridge",
      "vlan10:bridge",
      "lab:isolated",
    ]);
  });

  it("kvmnet(8) names every program", async () => {
    const { PROGRAM_NAMES } = await import("../../src/programs.js");
    const name = render("kvmnet.8").out.split("\n").slice(2, 5).join(" ");
    for (const p of PROGRAM_NAMES) expect(name).toContain(p);
  });
});

describe("Debian package files", () => {
  it.each(["preinst", "postinst", "postrm"])("%s is valid POSIX sh", (s) => {
    expect(execaSync("sh", ["-n", join(ROOT, "scripts/deb", s)], { reject: false }).exitCode).toBe(0);
  });

  it("the NetworkManager drop-in appends kvmnet's bridges and the guests' taps to the unmanaged devices", () => {
    const text = readFileSync(join(ROOT, "scripts/deb/networkmanager.conf"), "utf8");
    expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([
      "[keyfile]",
      "unmanaged-devices+=interface-name:kvmnet*;interface-name:vnet*",
    ]);
  });

  it("the template's bridge is one the NetworkManager drop-in covers", () => {
    const c = parseConfig("t", readFileSync(join(ROOT, "etc-templates/kvmnet.conf"), "utf8"));
    expect(c.networks[0]!.bridge).toMatch(/^kvmnet/);
  });
});
