#!/usr/bin/env bash
# Set up and run the whole test suite (unit, namespace, QEMU end-to-end) on Debian 12, as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
export CI=1  # a missing golden file (toMatchFileSnapshot) fails instead of being written
npm ci --no-audit --no-fund --loglevel=error
npm run typecheck
npm run format:check
npm run lint
npm run depcheck
report=$(mktemp)
status=0
npm test -- --reporter=default --reporter=json --outputFile.json="$report" || status=$?
# One plain closing line with the counts, whatever reads this log.
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);' "$report" || true
rm -f "$report"
exit "$status"
