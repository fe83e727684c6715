// The systemd units that put kvmnet's rules back when something else removes them: kvmnet-reapply.service (after
// nftables.service or firewalld.service start, restart or reload) and kvmnet-watch.service (`kvmnet watch`, for
// everything else). `kvmnet install` writes them with PROGRAM, the running kvmnet; the .deb ships the same text
// with /usr/bin/kvmnet (scripts/deb/, checked equal by test/unit/install.test.ts).

/** kvmnet-reapply.service running PROGRAM. */
export function reapplyUnit(program: string): string {
  return `# Put kvmnet's rules back for the networks that are up when the host's firewall is (re)loaded: a restart of
# nftables.service runs "flush ruleset", a firewalld reload rebuilds its tables.
[Unit]
Description=kvmnet: re-apply the rules of networks that are up after a firewall (re)load
Documentation=man:kvmnet(8)
After=nftables.service firewalld.service kvmnet.service
PartOf=nftables.service firewalld.service
ConditionPathExists=/etc/kvmnet.conf

[Service]
Type=oneshot
ExecStart=${program} reapply

[Install]
WantedBy=nftables.service firewalld.service
`;
}

/** kvmnet-watch.service running PROGRAM. */
export function watchUnit(program: string): string {
  return `# Watch the rulesets and links (nft monitor, ip monitor) and put back what another program removed of the
# kvmnet networks that are up. Not enabled by default: systemctl enable --now kvmnet-watch.service
[Unit]
Description=kvmnet: keep the rules and bridges of networks that are up
Documentation=man:kvmnet(8)
After=network.target kvmnet.service
ConditionPathExists=/etc/kvmnet.conf

[Service]
ExecStart=${program} watch
Restart=on-failure

[Install]
WantedBy=multi-user.target
`;
}
