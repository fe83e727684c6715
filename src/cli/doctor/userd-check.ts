// kvmnet-userd for networks that allow ordinary users (allow_users, allow_groups): its socket is there, listening
// (systemd's kvmnet-userd.socket, or the service itself), root's, and open to every local user (the service, not
// the file mode, decides who may do what: a user the mode shuts out would get "Permission denied", not the
// refusal that says who may allow it).
import { statSync } from "node:fs";
import type { DoctorContext, Finding } from "../../coexist/finding.js";
import { SOCKET_PATH } from "../userd/protocol.js";

const ENABLE = "systemctl enable --now kvmnet-userd.socket (kvmnet install writes it; the .deb ships it)";

/** One finding about the user service; ok with nothing to check when no network allows ordinary users. */
export function checkUserd(ctx: DoctorContext): Finding {
  const id = "userd";
  const nets = (ctx.config?.networks ?? []).filter((n) => n.allow).map((n) => n.name);
  if (!nets.length)
    return {
      id,
      level: "ok",
      message: "no network allows ordinary users (allow_users, allow_groups): no service needed",
    };
  const path = ctx.env.KVMNET_USER_SOCKET || SOCKET_PATH;
  const fail = (message: string, fix: string): Finding => ({ id, level: "fail", networks: nets, message, fix });
  let st;
  try {
    st = statSync(path);
  } catch {
    return fail(`no socket ${path}: ordinary users cannot reach kvmnet-userd`, ENABLE);
  }
  if (!st.isSocket()) return fail(`${path} is not a socket`, `remove it, then ${ENABLE}`);
  if (st.uid !== 0) return fail(`${path} is owned by uid ${st.uid}, not root`, `remove it, then ${ENABLE}`);
  const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
  if ((st.mode & 0o006) !== 0o006)
    return fail(
      `${path} has mode ${mode}: users other than its owner and group cannot connect, and get "Permission denied" instead of the service's answer`,
      `chmod 0666 ${path} (kvmnet-userd.socket says SocketMode=0666; who may do what is allow_users / allow_groups)`,
    );
  const listening = (ctx.read("/proc/net/unix") ?? "")
    .split("\n")
    .some((l) => l.endsWith(` ${path}`) && / 00010000 0001 01 /.test(l));
  if (!listening)
    return fail(`nothing listens on ${path} (kvmnet-userd stopped, its socket unit too)`, `remove it, then ${ENABLE}`);
  return {
    id,
    level: "ok",
    networks: nets,
    message: `kvmnet-userd's socket ${path} listens, mode ${mode} (who may use which network: allow_users, allow_groups)`,
  };
}
