#!/usr/bin/env bash
# reliability_table.sh — the table of bad inputs in docs/reliability.md, from the end-to-end tests.
# The tests under tests/e2e write one row per bad input they try (case, exit status, fourmi's
# message) to BUILD/bad-inputs/<test>.md when ctest runs them.
#   bash tools/reliability_table.sh BUILD --update   rewrite the table in docs/reliability.md
#   bash tools/reliability_table.sh BUILD --check    exit 1 if the docs' table differs from the tests'
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:?usage: reliability_table.sh BUILD --update|--check}
MODE=${2:---check}
DOC=$ROOT/docs/reliability.md
table() {
  echo "| bad input | exit | message |"
  echo "|---|---|---|"
  for t in test_cli test_reliability test_import test_ecosystem; do
    f=$BUILD/bad-inputs/$t.md
    [ -s "$f" ] || { echo "reliability_table.sh: $f missing: run ctest -R e2e_$t first" >&2; exit 1; }
    cat "$f"
  done
}
generated=$(table)
# Which rank reports a collective timeout first varies from run to run: ranks compare as "rank N".
mask() { sed -E 's/rank [0-9]+/rank N/g'; }
current=$(sed -n '/<!-- bad-inputs:begin -->/,/<!-- bad-inputs:end -->/p' "$DOC" | sed '1d;$d')
case "$MODE" in
  --update)
    python3 - "$DOC" "$generated" <<'PY'
import re, sys
doc, table = sys.argv[1], sys.argv[2]
text = open(doc).read()
text = re.sub(r"(<!-- bad-inputs:begin -->\n).*?(<!-- bad-inputs:end -->)", lambda m: m.group(1) + table + "\n" + m.group(2),
              text, flags=re.S)
open(doc, "w").write(text)
PY
    echo "updated $DOC" ;;
  --check)
    if [ "$(mask <<<"$generated")" != "$(mask <<<"$current")" ]; then
      diff <(mask <<<"$current") <(mask <<<"$generated") || true
      echo "docs/reliability.md: the bad-input table differs from what the tests saw; run: bash tools/reliability_table.sh $BUILD --update"
      exit 1
    fi
    echo "docs/reliability.md: the bad-input table matches the tests ($(($(wc -l <<<"$generated") - 2)) rows)" ;;
  *) echo "usage: reliability_table.sh BUILD --update|--check" >&2; exit 2 ;;
esac
