// guard = yes against a guest that asks for another guest's lease by that guest's DHCP client identifier (option
// 61, which every guest on the bridge sees in the other's broadcast requests). dnsmasq finds a lease by its client
// identifier before its MAC, so the attacker, with its own MAC in chaddr as the guard demands, would be given the
// victim's address, and the lease event would put ATTACKER-MAC . VICTIM-IP into the guard's set: the guard itself
// would let it send as the victim. On a guarded network dnsmasq ignores client identifiers (leases go by MAC, which
// the guard pins); the control, without the guard, shows the attack as dnsmasq answers it there.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ATT, nsh, attachGuests, until, VIC } from "../helpers/guard.js";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import type { Netns } from "../helpers/netns.js";

const CLID = ["-x", "0x3d:01beefbeefbeef"]; // the victim's client identifier, which the attacker sends too

describe.each([
  ["guard = yes", true],
  ["control, no guard", false],
])("%s: an attacker sends the victim's client identifier", (_name, guarded) => {
  let lab: Lab;
  let att: Netns;
  let vic: Netns;
  let vicIp = "";

  beforeAll(async () => {
    lab = await makeLab({ section: (br) => natSection(br, guarded ? "guard = yes\n" : "") });
    [att, vic] = (await attachGuests(lab, [
      ["vm0", ATT],
      ["vm1", VIC],
    ])) as [Netns, Netns];
    vicIp = (await lab.dhcp(vic, CLID))?.ip ?? "";
    expect(vicIp).toMatch(/^192\.0\.2\.1\d\d$/);
  }, 120_000);
  afterAll(async () => await lab?.destroy());

  it(
    guarded
      ? "is given an address of its own, never the victim's; the guard's set holds no ATTACKER . VICTIM-IP"
      : "is given the victim's address (dnsmasq keys the lease by the identifier)",
    async () => {
      const attIp = (await lab.dhcp(att, [...CLID, "-r", vicIp]))?.ip ?? "";
      expect(attIp).toMatch(/^192\.0\.2\.1\d\d$/);
      expect(attIp === vicIp).toBe(!guarded);
      if (!guarded) return;
      // The lease event fills the set after the lease is given: wait for the attacker's own pair to be in it.
      const set = () => nsh(lab.host, "nft list set bridge kvmnet guard_ips");
      expect(await until(async () => (await set()).includes(`${ATT} . ${attIp}`), 30_000)).toBe(true);
      expect(await set()).not.toContain(`${ATT} . ${vicIp}`);
      expect(await set()).toContain(`${VIC} . ${vicIp}`);
    },
  );
});
