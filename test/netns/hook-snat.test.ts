// snat_to: the outside sees the guest as that address; an address the host does not have is warned about
// (issue 9: replies to it never come back, and nothing said so), once, when the rules are written.
import { afterEach, describe, expect, it } from "vitest";
import { HOST_UPLINK, makeLab, natSection, OUTSIDE, seenAs, startEchoAddress, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

describe("snat_to", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("an address of the host: no warning, and the outside sees the guest as it", async () => {
    lab = await makeLab({ section: (br) => natSection(br, `snat_to = ${HOST_UPLINK}\n`) });
    const g = await lab.addGuest("vm0");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(await lab.dhcp(g)).not.toBeNull();
    const stop = await startEchoAddress(lab.outside);
    try {
      expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
    } finally {
      stop();
    }
  });

  it("an address the host does not have: a warning naming it when the rules are written, not on every VM", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "snat_to = 203.0.113.77\n") });
    await lab.addGuest("vm0");
    await lab.addGuest("vm1");
    const first = await lab.hook("qemu-natup", "vm0");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe(
      "qemu-natup: warning: snat_to 203.0.113.77 of network nat0 is not an address of this host: replies to the guests' traffic will not come back to it",
    );
    const second = await lab.hook("qemu-natup", "vm1");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe("");
    // kvmnet up says it each time: an admin running it wants to know.
    const up = await lab.host.tryRun(process.execPath, [program("kvmnet"), "up", "nat0"], {
      env: { KVMNET_CONFIG: lab.conf.file },
    });
    expect(up.exitCode).toBe(0);
    expect(String(up.stderr)).toBe(
      "kvmnet: warning: snat_to 203.0.113.77 of network nat0 is not an address of this host: replies to the guests' traffic will not come back to it",
    );
  });
});
