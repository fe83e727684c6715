// What kvmnet-userd does for a request, once it knows who asks: make a tap owned by the caller and bring it onto
// the network exactly as a root VM's tap is (the converge pipeline's attach, as qemu-natup runs it), hold it while
// the caller's connection lives, and take it down as a down hook would (detach, and when-idle teardown) when the
// connection ends. One operation at a time: each is short, and a tap name is chosen and made without a race.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { applySteps } from "../../apply/apply.js";
import { loadConfig } from "../../config/load.js";
import type { Config, Network } from "../../config/types.js";
import { converge } from "../../converge/converge.js";
import { userTapName, type UserTapRecord } from "../../core/user-taps.js";
import { userTapCreate, userTapDelete } from "../../decide/user-tap.js";
import { errorText } from "../../errno.js";
import { KvmnetError } from "../../errors.js";
import { realExec, type Exec } from "../../host/exec.js";
import { readUserTaps, tapInUse, tapOwner } from "../../observe/user-taps-state.js";
import { configNamesTap, pickNetwork } from "./allowed.js";
import { LIMITS, refused, type Reply, type Request, type UserTap } from "./protocol.js";
import type { Who } from "./who.js";

/** A tap the service holds for a user: until RELEASE's connection ends (or, adopted after a restart, until no
 *  process has the tap open). */
interface Held extends UserTapRecord {
  release?: () => void;
}

/** The service's state: the taps it holds, and the queue its operations run in. */
export class UserService {
  private readonly held = new Map<string, Held>();
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly configFile: string,
    private readonly log: (line: string) => void,
    private readonly exec: Exec = realExec,
  ) {}

  /** Run FN after every operation before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Answer REQ from WHO; a tap OPEN made is held until the function HOLD(tap) returns is called (or the
   *  connection behind it ends, which calls release). */
  handle(req: Request, who: Who, hold: (tap: string) => () => void): Promise<Reply> {
    return this.serial(async () => {
      try {
        switch (req.op) {
          case "open":
            return await this.open(req, who, hold);
          case "list":
            return { ok: true, taps: this.tapsOf(who) };
          case "remove":
            return await this.remove(req.tap, who);
        }
      } catch (e) {
        if (e instanceof KvmnetError) return { ok: false, code: e.exitCode, error: e.message };
        return { ok: false, code: 1, error: errorText(e) };
      }
    });
  }

  /** End the hold of TAP: detach it as a down hook would, then remove it and its record. */
  release(tap: string): Promise<void> {
    return this.serial(async () => {
      if (this.held.has(tap) && !this.stopping) await this.teardown(tap);
    });
  }

  /** Stop: from now on an ended connection removes nothing (the VMs behind them may well run on, and the next
   *  start holds their taps again); resolves once the operation under way is done. */
  stop(): Promise<unknown> {
    this.stopping = true;
    for (const h of this.held.values()) h.release = undefined;
    return this.serial(async () => undefined);
  }

  /** After a (re)start: a recorded tap still open by its VM is held again and watched; any other is removed. */
  adopt(pollMs = 2_000): Promise<void> {
    return this.serial(async () => {
      const config = loadConfig(this.configFile);
      for (const [tap, rec] of readUserTaps(config.stateDir)) {
        if (this.held.has(tap)) continue;
        if (!tapInUse(tap)) {
          await this.teardown(tap, config, rec);
          continue;
        }
        const timer = setInterval(() => {
          if (!tapInUse(tap)) void this.release(tap);
        }, pollMs);
        timer.unref();
        this.held.set(tap, { ...rec, release: () => clearInterval(timer) });
        this.log(`${tap}: held again for ${rec.user} (uid ${rec.uid}) on ${rec.network}; its VM has it open`);
      }
    });
  }

  private tapsOf(who: Who): UserTap[] {
    return [...this.held]
      .filter(([, h]) => who.uid === 0 || h.uid === who.uid)
      .map(([tap, h]) => ({ tap, network: h.network, uid: h.uid, user: h.user }));
  }

  private async open(req: Extract<Request, { op: "open" }>, who: Who, hold: (tap: string) => () => void) {
    const config = loadConfig(this.configFile);
    const net = pickNetwork(config, who, req.network);
    if ("error" in net) return refused(net.error);
    const mine = [...this.held.values()].filter((h) => h.uid === who.uid).length;
    if (who.uid !== 0 && mine >= LIMITS.tapsPerUser)
      return refused(`user ${who.user} holds ${mine} taps already, the most one user may (stop a VM first)`);
    const tap = req.tap ?? this.freeName(config, net, who.uid);
    if (tap === null)
      return refused(
        `no tap name free for user ${who.user}: every ${userTapName(who.uid, 0).replace(/0$/, "N")} is taken or claimed by another network's taps glob; name one with --tap`,
      );
    if (req.tap !== undefined) {
      const why = this.nameTaken(config, req.tap, who) ?? (who.uid !== 0 ? configNamesTap(config, req.tap, net) : null);
      if (why) return refused(why);
    }
    // The guard pins the guest's MAC: the one kvmnet-qemu found in QEMU's arguments, or one chosen here that it
    // writes into them (QEMU has no parent to read it from here, as a root VM's hook does).
    const mac = req.mac ?? (net.guard ? chooseMac() : undefined);
    const rec: UserTapRecord = { uid: who.uid, user: who.user, network: net.name };
    applySteps(this.exec, userTapCreate(config.stateDir, tap, rec));
    try {
      await converge(config, net, { action: "attach", tap, mac }, { exec: this.exec, warn: this.log });
    } catch (e) {
      applySteps(this.exec, userTapDelete(config.stateDir, tap));
      throw e;
    }
    this.held.set(tap, { ...rec, release: hold(tap) });
    this.log(`${tap}: made for ${who.user} (uid ${who.uid}) on ${net.name}${net.guard ? `, guarded for ${mac}` : ""}`);
    return { ok: true as const, tap, ...(mac ? { mac } : {}) };
  }

  private async remove(tap: string, who: Who): Promise<Reply> {
    const h = this.held.get(tap);
    if (!h) {
      const owner = tapOwner(tap);
      if (owner !== null && owner !== who.uid && who.uid !== 0)
        return refused(`tap ${tap} is not yours: it belongs to uid ${owner}; only its owner or root may remove it`);
      return refused(`tap ${tap} is not a tap kvmnet-userd holds for you (kvmnet-qemu --list shows yours)`);
    }
    if (h.uid !== who.uid && who.uid !== 0)
      return refused(
        `tap ${tap} is not yours: it belongs to ${h.user} (uid ${h.uid}); only its owner or root may remove it`,
      );
    await this.teardown(tap);
    return { ok: true };
  }

  // Why WHO may not name a tap TAP: it exists (another user's, or any other interface).
  private nameTaken(config: Config, tap: string, who: Who): string | null {
    const h = this.held.get(tap) ?? readUserTaps(config.stateDir).get(tap);
    const owner = h?.uid ?? tapOwner(tap);
    if (owner !== null && owner !== undefined && owner !== who.uid)
      return `tap ${tap} belongs to another user (uid ${owner}): choose another name, or leave --tap out`;
    if (h || existsSync(`/sys/class/net/${tap}`))
      return `${tap} exists already${h ? " (one of your VMs holds it)" : ""}: choose another name, or leave --tap out`;
    return null;
  }

  // The first of the user's own tap names (kuUIDnN) that is free on the host and that the config claims for no
  // other use; null when none is among the first 1024 (a taps glob such as ku* takes them all).
  private freeName(config: Config, net: Network, uid: number): string | null {
    for (let n = 0; n < 1024; n++) {
      const tap = userTapName(uid, n);
      if (!this.held.has(tap) && !existsSync(`/sys/class/net/${tap}`) && !configNamesTap(config, tap, net)) return tap;
    }
    return null;
  }

  private async teardown(tap: string, config?: Config, rec?: UserTapRecord): Promise<void> {
    const h = this.held.get(tap);
    this.held.delete(tap);
    h?.release?.();
    let cfg = config;
    try {
      cfg ??= loadConfig(this.configFile);
      const network = (h ?? rec)?.network;
      const net = cfg.networks.find((n) => n.name === network);
      // Detached first, as QEMU runs a downscript while the tap still exists; the network goes when idle.
      if (net) await converge(cfg, net, { action: "detach", tap }, { exec: this.exec, warn: this.log });
    } catch (e) {
      this.log(`${tap}: detaching: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (cfg) applySteps(this.exec, userTapDelete(cfg.stateDir, tap));
    this.log(`${tap}: removed${h ? ` (${h.user}'s VM ended)` : ""}`);
  }
}

// A guest MAC for a guard = yes network when QEMU's arguments give none: random, locally administered, unicast.
function chooseMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}
