// The systemd units that put kvmnet's rules back when something else removes them: kvmnet-reapply.service (after
// nftables.service or firewalld.service start, restart or reload) and kvmnet-watch.service (`kvmnet watch`, for
// everything else). `kvmnet install` writes them with PROGRAM, the running kvmnet; the .deb ships the same text
// with /usr/bin/kvmnet (scripts/deb/, checked equal by test/unit/install.test.ts).

/** kvmnet-reapply.service running PROGRAM. */
export function reapplyUnit(program: string): string {
  return `# Put kvmnet's rules back for the networks that are up when the host's firewall is (re)loaded: a restart or
# reload of nftables.service runs /etc/nftables.conf, which starts with "flush ruleset"; netfilter-persistent
# restores whole iptables tables; a firewalld reload rebuilds its rules. Networks that are down stay down.
# Started with each of them (WantedBy), and restarted and reloaded with them (PartOf, ReloadPropagatedFrom;
# RemainAfterExit keeps it active so that both reach it). "firewall-cmd --reload" and "nft flush ruleset" by hand
# pass no unit: kvmnet-watch.service sees those.
[Unit]
Description=kvmnet: re-apply the rules of networks that are up after a firewall (re)load
Documentation=man:kvmnet(8)
After=nftables.service firewalld.service netfilter-persistent.service kvmnet.service
PartOf=nftables.service firewalld.service netfilter-persistent.service
ReloadPropagatedFrom=nftables.service firewalld.service netfilter-persistent.service
ConditionPathExists=/etc/kvmnet.conf

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${program} reapply
ExecReload=${program} reapply

[Install]
WantedBy=nftables.service firewalld.service netfilter-persistent.service
`;
}

/** kvmnet-watch.service running PROGRAM. */
export function watchUnit(program: string): string {
  return `# Watch the rulesets and links (nft monitor, ip monitor) and put back what another program removed of the
# kvmnet networks that are up; networks taken down stay down. Not enabled by default:
# systemctl enable --now kvmnet-watch.service
[Unit]
Description=kvmnet: keep the rules and bridges of networks that are up
Documentation=man:kvmnet(8)
After=network.target kvmnet.service
ConditionPathExists=/etc/kvmnet.conf

[Service]
ExecStart=${program} watch
# systemctl reload kvmnet-watch: re-read /etc/kvmnet.conf, stopping nothing.
ExecReload=/bin/kill -HUP $MAINPID
# SIGTERM to kvmnet only, and nothing else of the service killed: kvmnet stops its monitors itself (and exits 0,
# not failed), and a network's dnsmasq it started again (after its bridge was deleted, say) keeps serving the
# guests when the service stops or restarts (an upgrade restarts it), as libvirtd.service keeps its dnsmasq.
KillMode=process
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
}

/** kvmnet-userd.socket: the socket ordinary users ask kvmnet-userd for taps on (kvmnet-qemu). */
export function userdSocketUnit(): string {
  return `# The socket kvmnet-qemu asks for a tap on; systemd starts kvmnet-userd.service at the first connection.
# Mode 0666: any local user may ask; the service checks who asks (SO_PEERCRED) against allow_users and
# allow_groups of /etc/kvmnet.conf and answers a refusal that says who may allow it. With no such key in the
# config, nobody but root is served.
[Unit]
Description=kvmnet: the socket for ordinary users' VMs (kvmnet-qemu)
Documentation=man:kvmnet(8)
ConditionPathExists=/etc/kvmnet.conf

[Socket]
ListenStream=/run/kvmnet/user.sock
SocketUser=root
SocketGroup=root
SocketMode=0666
DirectoryMode=0755
Backlog=64

[Install]
WantedBy=sockets.target
`;
}

/** kvmnet-userd.service running PROGRAM, started by kvmnet-userd.socket. */
export function userdServiceUnit(program: string): string {
  return `# Taps for ordinary users' VMs on the networks that allow them (allow_users, allow_groups), started by
# kvmnet-userd.socket. Stopping it leaves the taps of running VMs alone: the next start holds them again, and
# removes those whose VM has ended meanwhile.
[Unit]
Description=kvmnet: taps for ordinary users' VMs
Documentation=man:kvmnet(8)
Requires=kvmnet-userd.socket
After=kvmnet-userd.socket network.target kvmnet.service

[Service]
ExecStart=${program} userd
# Nothing but kvmnet killed when the service stops: the dnsmasq of a network a user's first VM brought up
# keeps serving the guests.
KillMode=process
Restart=on-failure
RestartSec=2
`;
}
