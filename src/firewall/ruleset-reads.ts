// Which commands only read rulesets that `nft monitor` reports every change of: nft's listings, and
// iptables-nft's saves (iptables-nft keeps its rules in nftables). kvmnet watch keeps their answers until the
// monitor reports a change (src/host/read-cache.ts). Any other command of a firewall tool may change a ruleset,
// or read one the monitor does not see (iptables-legacy's), so it is run every time and forgets what was kept.

/** What CMD ARGS does to the host's rulesets: only reads them ("read"), may change them ("change"), or neither. */
export function rulesetCommand(cmd: string, args: string[]): "read" | "change" | "other" {
  if (cmd === "nft") return args[0] === "list" && !args.includes("-f") ? "read" : "change";
  if (cmd === "iptables-nft-save" || cmd === "ip6tables-nft-save") return "read";
  if (/^(ip6?tables|ebtables|arptables|firewall-cmd)/.test(cmd)) return "change";
  return "other";
}
