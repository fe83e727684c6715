// The steps a plan is made of: data, printed by `kvmnet plan` and carried out by apply().

/** One change to the host. */
export type Step =
  /** FORCE: each line tried on its own (`ip -force -batch`), failures expected and ignored (an undo of an unknown
   *  part). WHY: said before the step in logs and plans. */
  | { kind: "ip"; lines: string[]; force?: boolean; why?: string }
  /** Build BRIDGE over NIC and move NIC's addresses and routes onto it, all or nothing: JOURNAL (ROLLBACK, the undo
   *  batch) is written first and removed after, so a run killed half-way is undone by the next one (which may also
   *  finish it: then LINES are only what the cut-off move had not done). */
  | {
      kind: "uplink-move";
      nic: string;
      bridge: string;
      lines: string[];
      rollback: string[];
      journal: string;
      why?: string;
    }
  | { kind: "sysctl"; path: string; value: string }
  /** IFUNUSED: it removes what all networks share; the kernel refuses that while a network still uses it (one
   *  may have come up since the observation), and then the step is skipped, not failed. */
  | { kind: "nft"; script: string; ifUnused?: boolean }
  /** VARIANT: with iptables-nft-restore or iptables-legacy-restore (where Docker's DOCKER-USER is), not plain
   *  iptables-restore. */
  | { kind: "iptables"; script: string; ifUnused?: boolean; variant?: "nft" | "legacy" }
  | { kind: "mkdir"; path: string }
  /** MODE: 0644 unless given (dnsmasq reads kvmnet's files as nobody). */
  | { kind: "write"; path: string; content: string; mode?: number }
  | { kind: "unlink"; path: string }
  /** Start dnsmasq; then record its pid in PIDFILE and BRIDGE's ifindex in IFINDEXFILE (root's files). */
  | { kind: "dnsmasq-start"; conf: string; pidFile: string; ifindexFile: string; bridge: string }
  | { kind: "signal"; pid: number; signal: "SIGHUP" | "SIGTERM" }
  /** tc commands, one `tc -batch -`. */
  | { kind: "tc"; lines: string[] }
  /** Delete conntrack's entries of PROTO traffic to the host's PORT (before DNAT): none left is no failure. */
  | { kind: "conntrack-flush"; proto: "udp" | "tcp"; port: number }
  /** `bridge` commands, one `bridge -batch -` (a VXLAN device's flood entries). FORCE: each line tried on its
   *  own (`bridge -force -batch -`), failures ignored (a learned entry may age out before it is deleted). */
  | { kind: "bridge"; lines: string[]; force?: boolean }
  /** FRR: COMMANDS given to `vtysh -c` in order (kvmnet's part of the BGP EVPN config, src/render/frr.ts). */
  | { kind: "vtysh"; commands: string[] }
  /** firewalld: a zone binding (src/decide/firewalld.ts), or `--reload` after kvmnet wrote its zone files. */
  | { kind: "firewall-cmd"; args: string[] }
  /** systemd-resolved: ARGS of `resolvectl` (`dns`, `domain`, `default-route` or `revert` of a network's bridge,
   *  src/decide/resolved.ts). */
  | { kind: "resolvectl"; args: string[] };

const UNUSED = " || true  # refused while another network still uses them";

/** A step as a shell line (or here-document), for `kvmnet plan` and logs. */
export function showStep(s: Step): string {
  switch (s.kind) {
    case "ip": {
      const why = s.why ? `# ${s.why}\n` : "";
      if (s.force) return `${why}ip -force -batch - <<'EOF'\n${s.lines.join("\n")}\nEOF`;
      return why + (s.lines.length === 1 ? `ip ${s.lines[0]}` : `ip -batch - <<'EOF'\n${s.lines.join("\n")}\nEOF`);
    }
    case "uplink-move":
      return `${s.why ? `# ${s.why}\n` : ""}ip -batch - <<'EOF'\n${s.lines.join("\n")}\nEOF\n# ${s.bridge} over ${s.nic}: undone as a whole on failure (its undo batch is kept in ${s.journal} meanwhile)`;
    case "sysctl":
      return `echo ${s.value} > ${s.path}`;
    case "nft":
      return `nft -f - <<'EOF'${s.ifUnused ? UNUSED : ""}\n${s.script.trimEnd()}\nEOF`;
    case "iptables":
      return `iptables${s.variant ? `-${s.variant}` : ""}-restore --noflush --wait <<'EOF'${s.ifUnused ? UNUSED : ""}\n${s.script.trimEnd()}\nEOF`;
    case "mkdir":
      return `mkdir -p ${s.path}`;
    case "write":
      return `cat > ${s.path} <<'EOF'\n${s.content.trimEnd()}\nEOF`;
    case "unlink":
      return `rm -f ${s.path}`;
    case "dnsmasq-start":
      return `dnsmasq --conf-file=${s.conf}`;
    case "signal":
      return `kill -${s.signal.slice(3)} ${s.pid}`;
    case "tc":
      return `tc -batch - <<'EOF'\n${s.lines.join("\n")}\nEOF`;
    case "conntrack-flush":
      return `conntrack -D -p ${s.proto} --orig-port-dst ${s.port} || true`;
    case "firewall-cmd":
      return `firewall-cmd ${s.args.join(" ")}`;
    case "resolvectl":
      return `resolvectl ${s.args.join(" ")}`;
    case "bridge":
      return `bridge${s.force ? " -force" : ""} -batch - <<'EOF'\n${s.lines.join("\n")}\nEOF`;
    case "vtysh":
      return `vtysh ${s.commands.map((c) => `-c '${c}'`).join(" ")}`;
  }
}
