// kvmnet's layers, checked by `npm run depcheck` (scripts/test.sh runs it in CI). ARCHITECTURE.md draws them.
// From the top down; a layer imports only the layers below it:
//   entry     hooks/*.ts, src/main.ts              (the programs)
//   cli       src/cli/                             (the admin CLI: kvmnet up, status, doctor, ...)
//   converge  src/converge/                        (observe once -> decide -> apply, under the locks)
//   apply     src/apply/                           (carries out Steps; observes nothing)
//   decide    src/decide/                          (pure: what was observed + config -> Steps)
//             src/coexist/                         (beside decide: other software's rules, read and judged for
//                                                   doctor and for the once-only warnings of converge)
//   observe   src/observe/                         (reads the host: /sys, /proc, one `ip`/`nft` look)
//   firewall  src/firewall/                        (the firewall backends behind FirewallBackend: nft/ and iptables/
//                                                   read, render, diff and step their tool's rules)
//   render    src/render/                          (pure: config -> rulesets, dnsmasq and FRR text)
//   config    src/config/                          (kvmnet.conf read and validated)
//   base      src/core/, src/*.ts but main.ts, src/host/ (Step, names, traits, addresses, errors, the executor)
const layers = {
  entry: "^(hooks/|src/main\\.ts$)",
  cli: "^src/cli/",
  converge: "^src/converge/",
  apply: "^src/apply/",
  decide: "^src/(decide|coexist)/",
  observe: "^src/observe/",
  firewall: "^src/firewall/",
  render: "^src/render/",
  config: "^src/config/",
};
const order = ["entry", "cli", "converge", "apply", "decide", "observe", "firewall", "render", "config"];

// LAYER may not import any layer above it (apply and decide are siblings: neither imports the other).
function upward(layer) {
  const above = order.slice(0, order.indexOf(layer)).map((l) => layers[l]);
  if (layer === "decide") above.push(layers.apply);
  return {
    name: `${layer}-imports-only-down`,
    comment: `${layer} may import only the layers below it (see the top of this file)`,
    severity: "error",
    from: { path: layers[layer] },
    to: { path: above.map((p) => `(${p})`).join("|") },
  };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "an import circle ties its files into one: no layer can be read, tested or replaced alone",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...order.slice(1).map(upward),
    {
      name: "base-imports-only-base",
      comment:
        "src/core/, src/host/ and the top-level modules (but main.ts) are the base: they import only the base and config/'s types",
      severity: "error",
      from: { path: "^src/(core/|host/|[^/]+\\.ts$)", pathNot: "^src/main\\.ts$" },
      to: { path: "^src/", pathNot: "^src/(core/|host/|[^/]+\\.ts$|config/types\\.ts$)" },
    },
    {
      name: "pure-core-runs-nothing",
      comment:
        "decide/, render/ and the backends' renderers and diffs take data and return data: no process, no file, no process.env (only host/'s types)",
      severity: "error",
      from: {
        path: "^src/(decide|render)/|^src/firewall/(nft|iptables)/(render|script|listing|save|diff|steps|leftovers|publish-flush|guard|vxlan-guard)\\.ts$",
      },
      to: {
        path: "^(src/host/|node:(child_process|fs|fs/promises|process)$|child_process$|fs$)",
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "core-is-pure",
      comment:
        "src/core/ (Step, the names of kvmnet's objects, the pacer) is data and pure functions: what it needs of the host (its name, the time) is passed in",
      severity: "error",
      from: { path: "^src/core/" },
      to: {
        path: "^(src/host/|node:(child_process|fs|fs/promises|os|process)$|child_process$|fs$|os$)",
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "apply-observes-nothing",
      comment: "apply/ carries out what the plan says: it does not read the host itself",
      severity: "error",
      // Not even the dnsmasq it just started: converge finds that one and records it (converge/dnsmasq-started.ts).
      from: { path: "^src/apply/" },
      to: { path: "^src/(observe|firewall|render|config/(?!types\\.ts$))" },
    },
    {
      name: "firewall-tools-stay-inside",
      comment:
        "the nft and iptables backends (src/firewall/nft/, src/firewall/iptables/) are reached only through src/firewall/'s interfaces (FirewallBackend, SideTables): no code outside src/firewall/ depends on which tool runs",
      severity: "error",
      from: { path: "^(src|hooks)/", pathNot: "^src/firewall/" },
      to: { path: "^src/firewall/(nft|iptables)/" },
    },
    {
      name: "not-to-tests",
      comment: "shipped code never imports test code",
      severity: "error",
      from: { path: "^(src|hooks)/" },
      to: { path: "^test/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: "^(src/|hooks/|node:|fs$|child_process$|os$)",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".mjs", ".cjs", ".json"] },
  },
};
