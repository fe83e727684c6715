// Hostile and unlucky input to the config reader: what `ini` would decode is taken only as written, control
// characters, odd paths, reserved names, lone CRs, and files that are not kvmnet configs at all (issue 9).
import { describe, expect, it } from "vitest";
import { problems } from "../helpers/problems.js";
import { parseConfig } from "../../src/config/validate.js";
import { badName } from "../../src/core/ifname.js";

const ISO = "[lab]\nmode = isolated\nbridge = labbr\n";
const net = (extra: string) => parseConfig("f", ISO + extra).networks[0]!;
const global = (g: string) => parseConfig("f", `[global]\n${g}\n${ISO}`);

describe("values are taken as written", () => {
  it("a quoted value cannot smuggle a dnsmasq directive in (issue 9 #9)", () => {
    const got = problems(`[global]\nlease_dir = "/x/lib\\nlog-facility=/x/pub/injected.log\\n#"\n${ISO}`);
    expect(got).toEqual([
      expect.stringMatching(/^2: lease_dir: the quoted value would decode to a control character \(U\+000A\)/),
    ]);
  });
  it("control characters in a value, after decoding, are refused with the key", () => {
    for (const c of ["\t", "\u0000", "\u001b", "\u007f", "\u0085"]) {
      expect(problems(`${ISO}taps = vnet*,${c}lab-*\n`)).toEqual([
        `4: taps: the value holds a control character (U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}): values are single lines of text`,
      ]);
    }
  });
  it("a key with a control character is not a key name, shown escaped", () => {
    expect(problems(`${ISO}mt\u001bu = 1500\n`)).toEqual([
      '4: "mt\\u001bu": not a key name (letters, digits, _ . - only)',
    ]);
  });
  it("quotes are removed and nothing inside is decoded", () => {
    expect(net(`taps = "vnet*, lab-*"\n`).taps).toEqual(["vnet*", "lab-*"]);
    expect(net(`taps = 'vnet*'\n`).taps).toEqual(["vnet*"]);
    expect(net(`mtu = '1500'\n`).mtu).toBe(1500);
    expect(problems(`[global]\nstate_dir = "/run/kv\\u006dnet"\n${ISO}`)).toEqual([
      expect.stringMatching(/^2: state_dir: "\/run\/kv\\\\u006dnet": backslash escapes are not taken/),
    ]);
    expect(problems(`${ISO}teardown = '"keep"'\n`)[0]).toMatch(
      /^4: teardown: "\\"keep\\"" would be read as "keep": write the value plainly/,
    );
  });
  it("true, false and null are words, not what ini makes of them", () => {
    expect(parseConfig("f", "[n]\nmode = isolated\nbridge = null\n").networks[0]!.bridge).toBe("null");
    expect(problems(`${ISO}teardown = null\n`)).toEqual(['4: teardown: "null" is not keep or when-idle']);
  });
  it("a comment starts at ; or # after white space; inside a word it is refused", () => {
    expect(net("taps = vnet* ; VMs\nmtu = 1400 # jumbo later\n")).toMatchObject({ taps: ["vnet*"], mtu: 1400 });
    expect(problems(`${ISO}taps = vnet*;lab-*\n`)[0]).toMatch(
      /^4: taps: ";" inside a value starts a comment there \("vnet\*" would be read\)/,
    );
    expect(problems(`${ISO}mtu = 1500#x\n`)[0]).toMatch(/^4: mtu: "#" inside a value/);
    expect(problems(`${ISO}teardown = "keep" ; c\n`)[0]).toMatch(
      /^4: teardown: a quoted value cannot be followed by a comment/,
    );
  });
  it("key[] arrays and keys named like Object's methods are unknown keys, never silently merged", () => {
    expect(problems(`${ISO}taps = a*\ntaps[] = b*\n`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^4: taps: "a\*" would be read as a list of 2/),
        '5: "taps[]": not a key name (letters, digits, _ . - only)',
      ]),
    );
    for (const k of ["constructor", "toString", "hasOwnProperty"]) {
      expect(problems(`${ISO}${k} = x\n`)).toEqual([expect.stringMatching(new RegExp(`^4: ${k}: unknown key`))]);
    }
    expect(problems(`${ISO}__proto__ = x\n`)).toEqual(['4: "__proto__": not a key name (letters, digits, _ . - only)']);
    expect(problems("[__proto__]\nmode = isolated\nbridge = b\n")[0]).toMatch(
      /^2: mode: the INI reader drops this line/,
    );
  });
});

describe("booleans (issue 9 #12)", () => {
  it.each([
    ["yes", true],
    ["no", false],
    ["true", true],
    ["false", false],
    ["on", true],
    ["off", false],
    ["1", true],
    ["0", false],
    ["YES", true],
    ['"true"', true],
  ])("default = %s", (v, want) => {
    expect(net(`default = ${v}\nautostart = ${v}\n`)).toMatchObject({ isDefault: want, autostart: want });
  });
  it("a wrong boolean is quoted as written", () => {
    expect(problems(`${ISO}default = maybe\n`)).toEqual([
      '4: default: "maybe" is not yes or no (nor true/false, on/off, 1/0)',
    ]);
  });
});

describe("state_dir and lease_dir", () => {
  it("are absolute, normal, and read the same way by dnsmasq", () => {
    expect(global("state_dir = /run/kvmnet/\nlease_dir = /var/lib/kv..m")).toMatchObject({
      stateDir: "/run/kvmnet",
      leaseDir: "/var/lib/kv..m",
    });
    const bad: [string, RegExp][] = [
      ["run/kvmnet", /is not an absolute path/],
      ["/var/lib/../../etc", /has a "\.\." component/],
      ["/run//kvmnet", /is not in normal form: write \/run\/kvmnet/],
      ["/run/./kvmnet", /is not in normal form: write \/run\/kvmnet/],
      ['"/run/kvmnet "', /has white space at an end/],
      ['"/run/kv#mnet"', /a character dnsmasq's config reads differently/],
    ];
    for (const [path, want] of bad)
      expect(problems(`[global]\nstate_dir = ${path}\n${ISO}`)[0], path).toMatch(
        new RegExp(`^2: state_dir: .*${want.source}`),
      );
  });
});

describe("mtu range (issue 9 #11)", () => {
  it("68..65535 pass validation (the tap's and uplink's maximum is checked before changes, live)", () => {
    expect(net("mtu = 68\n").mtu).toBe(68);
    expect(net("mtu = 65535\n").mtu).toBe(65535);
    expect(problems(`${ISO}mtu = 65536\n`)).toEqual(['4: mtu: "65536" is not an MTU between 68 and 65535']);
    expect(problems(`${ISO}mtu = 67\n`)).toEqual(['4: mtu: "67" is not an MTU between 68 and 65535']);
  });
});

describe("names the kernel reserves (issue 9 #13)", () => {
  it("all and default are refused as bridge, uplink, trunk and TAP, naming the key", () => {
    expect(problems("[lab]\nmode = isolated\nbridge = all\n")).toEqual([
      expect.stringMatching(/^3: bridge: "all" is reserved by the kernel/),
    ]);
    expect(problems("[lab]\nmode = bridge\nbridge = br0\nuplink = default\n")).toEqual([
      expect.stringMatching(/^4: uplink: "default" is reserved/),
    ]);
    expect(problems("[v]\nmode = bridge\nbridge = brv\nvlan = 10\ntrunk = all\n")).toEqual([
      expect.stringMatching(/^5: trunk: "all" is reserved/),
    ]);
    expect(badName("default")).toMatch(/reserved by the kernel/);
  });
  it("a network may still be called default (it names no interface)", () => {
    expect(parseConfig("f", "[default]\nmode = isolated\nbridge = kvdef\n").networks[0]!.name).toBe("default");
  });
  it("ip's keywords are fine names (ip takes them after dev/name/master)", () => {
    for (const n of ["help", "dev", "up", "master", "type", "link"]) expect(badName(n)).toBeNull();
  });
});

describe("a lone CR (issue 9 #13)", () => {
  it("cannot hide a second key: the line is named", () => {
    expect(problems("[lab]\nmode = isolated\nbridge = good\rbridge = evil\n")).toEqual([
      "3: : a carriage return (CR) inside the line would start a new line for the INI reader: save the file with LF (or CRLF) line ends",
    ]);
  });
  it("CRLF line ends are fine", () => {
    expect(parseConfig("f", ISO.replace(/\n/g, "\r\n") + "mtu = 1400\r\n").networks[0]).toMatchObject({
      bridge: "labbr",
      mtu: 1400,
    });
  });
});

describe("a file that is not a kvmnet config (issue 9, environment)", () => {
  const secret = "SECRETHASH";
  const notShown = (text: string, line: number, why: RegExp) => {
    const got = problems(text);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(
      new RegExp(
        `^${line}: : ${why.source}: /etc/kvmnet.conf does not look like a kvmnet config \\(its content is not shown\\)$`,
      ),
    );
    expect(got[0]).not.toMatch(/SECRET|root|daemon|hunter|token/i);
  };
  it("stops at the first line that is not INI and shows only its number", () => {
    notShown(
      `root:$y$j9T$${secret}:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\n`,
      1,
      /this line is neither "key = value" nor a \[section\] header/,
    );
    notShown(
      `# comment\n\n-----BEGIN ${secret} KEY-----\n`,
      3,
      /this line is neither "key = value" nor a \[section\] header/,
    );
    notShown(`${ISO}hunter2 ${secret}\nmode = nat\n`, 4, /this line is neither "key = value" nor a \[section\] header/);
  });
  it("a key before any section that kvmnet does not know is not shown either", () => {
    notShown(`API_TOKEN=${secret}\n`, 1, /a line before any \[section\] header is not a kvmnet key/);
  });
  it("an INI file with no kvmnet key in it", () => {
    notShown(`[database]\npassword = ${secret}\nuser = root\n`, 2, /no key in it is one kvmnet knows/);
  });
});
