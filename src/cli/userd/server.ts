// kvmnet-userd's socket: each connection sends one request line and gets one reply line. Bounded before anything
// is asked of the host: the number of connections, of those not answered yet (in all, and per user), a request's
// size and the time to send it. Who asks comes from SO_PEERCRED, never from the request, and is asked at once, so
// that one user's unanswered connections are counted as theirs. A refused or broken connection is closed; the
// service goes on serving everyone else.
import type { Server, Socket } from "node:net";
import { realExec } from "../../host/exec.js";
import { peerCred, type PeerCred } from "./peer.js";
import { LIMITS, parseRequest, refused, type Reply } from "./protocol.js";
import type { UserService } from "./service.js";
import { whoIs } from "./who.js";

/** Serve SERVER's connections with SVC; LOG gets one line per refusal and per tap made or removed. Returns the
 *  stop: no new connection, the held ones closed without removing their taps. */
export function serveConnections(server: Server, svc: UserService, log: (line: string) => void): () => Promise<void> {
  let open = 0;
  let pending = 0;
  const pendingOf = new Map<number, number>(); // uid -> its connections not answered yet
  const count = (uid: number, by: number) => {
    const n = (pendingOf.get(uid) ?? 0) + by;
    if (n > 0) pendingOf.set(uid, n);
    else pendingOf.delete(uid);
  };
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    socket.on("error", () => undefined); // a client gone mid-reply is its own business
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    if (open >= LIMITS.connections || pending >= LIMITS.pending) {
      close(socket, line(refused(`busy: ${open} connections, ${pending} unanswered; try again shortly`)));
      log(`refused a connection: ${open} open, ${pending} unanswered`);
      return;
    }
    open++;
    pending++;
    let answered = false;
    let settled = false;
    let uid: number | null = null; // counted in pendingOf
    const settle = () => {
      if (settled) return;
      settled = true;
      pending--;
      if (uid !== null) count(uid, -1);
    };
    socket.on("close", () => {
      open--;
      settle();
    });
    const answer = (r: Reply, hold = false) => {
      if (answered) return;
      answered = true;
      settle();
      clearTimeout(timer);
      if (!r.ok) log(`refused: ${r.error}`);
      if (hold) socket.write(line(r));
      else close(socket, line(r));
    };
    const timer = setTimeout(
      () => answer(refused(`no request within ${LIMITS.requestMs / 1000} s: send one line of JSON, then wait`)),
      LIMITS.requestMs,
    );
    // Who it is, asked first; a user with too many connections unanswered is told busy at once. Handing the socket
    // to the process that asks stops node reading it: reading resumes once that is done (the request waits in the
    // socket meanwhile, and its time bound runs from the connection).
    const cred: Promise<PeerCred | Error> = peerCred(socket).then(
      (c) => {
        const mine = pendingOf.get(c.uid) ?? 0;
        if (answered) return c;
        if (mine >= LIMITS.pendingPerUser)
          answer(refused(`busy: uid ${c.uid} has ${mine} connections unanswered already; try again shortly`));
        else {
          uid = c.uid;
          count(c.uid, 1);
          socket.resume();
        }
        return c;
      },
      (e: unknown) => {
        if (!answered) socket.resume(); // the request is read, and answered with why nobody could be asked
        return e instanceof Error ? e : new Error(String(e));
      },
    );
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl < 0 && buf.length < LIMITS.requestBytes) return;
      socket.off("data", onData);
      socket.pause();
      clearTimeout(timer); // the time bound is on sending the request; bringing a network up may take longer
      if (nl < 0 || nl >= LIMITS.requestBytes)
        return answer(refused(`oversized request: more than ${LIMITS.requestBytes} bytes before a newline`));
      void respond(buf.slice(0, nl));
    };
    socket.on("data", onData);

    const respond = async (text: string) => {
      const req = parseRequest(text);
      if ("error" in req) return answer(refused(req.error));
      const c = await cred;
      if (answered) return; // told busy
      let who;
      try {
        if (c instanceof Error) throw c;
        who = whoIs(realExec, c.uid, c.gid);
      } catch (e) {
        return answer({ ok: false, code: 1, error: `who is asking: ${e instanceof Error ? e.message : String(e)}` });
      }
      if (socket.destroyed) return; // it left before it was answered: nothing was done
      const reply = await svc.handle(req, who, (tap) => {
        // Held: the client keeps the connection open while its VM runs; its end (exit, SIGKILL) ends the tap.
        socket.on("close", () => void svc.release(tap));
        socket.resume(); // anything more it sends is read and dropped
        return () => socket.destroy();
      });
      log(
        `uid ${who.uid} (${who.user}): ${req.op}${"tap" in req && req.tap ? ` ${req.tap}` : ""}: ${reply.ok ? "ok" : "refused"}`,
      );
      answer(reply, reply.ok && req.op === "open");
      if (reply.ok && req.op === "open" && socket.destroyed) void svc.release(reply.tap!);
    };
  });
  return async () => {
    server.close();
    await svc.stop();
    for (const s of sockets) s.destroy();
  };
}

// Send TEXT, the last thing said on SOCKET, and close it once written: an answered client that keeps its end
// open holds no connection of the service's (they are bounded, and one user would otherwise keep them all).
function close(socket: Socket, text: string): void {
  socket.end(text, () => socket.destroy());
}

function line(r: Reply): string {
  return JSON.stringify(r) + "\n";
}
