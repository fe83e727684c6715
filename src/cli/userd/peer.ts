// Who is at the other end of a unix socket connection: the kernel's SO_PEERCRED (pid, uid and gid of the process
// that connected, recorded by connect(2); no client can forge it). Node has no getsockopt, and kvmnet ships no
// native addon, so the connection is handed as stdin to perl (perl-base is Essential: on every Debian system, its
// Socket module included), which asks the kernel and prints the three numbers. Considered and not taken: `ss -xp`
// names the processes that hold the peer's socket now (after a fork or an fd passed on, several, of any uid; gone
// when the client has exited) and iproute2 6.1's ss prints no uid of a unix socket; systemd's Accept=yes names each
// instance with the peer's uid, but costs one root node process per VM for the VM's lifetime.
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { whichTool } from "../../host/which.js";

/** The connecting process' credentials. */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

const SCRIPT =
  'use Socket; open(my $s, "<&=", 0) or die "fd 0: $!\\n"; ' +
  'my $c = getsockopt($s, SOL_SOCKET, SO_PEERCRED) or die "SO_PEERCRED: $!\\n"; ' +
  'print join(" ", unpack("lLL", $c)), "\\n"';

/** SOCKET's peer, by SO_PEERCRED; rejects when the kernel gives none (the socket is closed or not unix). */
export function peerCred(socket: Socket, timeoutMs = 5_000): Promise<PeerCred> {
  return new Promise((resolve, reject) => {
    const perl = whichTool("perl");
    if (!perl) return reject(new Error("perl: not found (perl-base reads SO_PEERCRED for kvmnet-userd)"));
    const child = spawn(perl, ["-e", SCRIPT], { stdio: [socket, "pipe", "pipe"], timeout: timeoutMs, env: {} });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const m = /^(\d+) (\d+) (\d+)\n$/.exec(out);
      if (code === 0 && m) resolve({ pid: Number(m[1]), uid: Number(m[2]), gid: Number(m[3]) });
      else reject(new Error(`SO_PEERCRED: ${err.trim() || `perl exited ${code}`}`));
    });
  });
}
