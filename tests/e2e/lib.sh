# lib.sh — helpers of the end-to-end test scripts (sourced): pass/fail counting, and expect_fail,
# which also adds the case to a bad-input table ($FOURMI_BAD_INPUT_TABLE, when set) from which
# tools/reliability_table.sh builds the table of docs/reliability.md.
fails=0
[ -n "${FOURMI_BAD_INPUT_TABLE:-}" ] && : > "$FOURMI_BAD_INPUT_TABLE"
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; fails=$((fails + 1)); }
# table_row CASE RC OUTPUT: the first error line of OUTPUT, with what varies from run to run
# (temporary directories, pids, host names) replaced by fixed words.
table_row() {
  [ -n "${FOURMI_BAD_INPUT_TABLE:-}" ] || return 0
  local msg
  # fourmi's own error line (else the first line that reads like an error), and the indented
  # lines that continue it (a list of keys, say); launcher banners are passed over.
  msg=$(awk '{line[NR] = $0}
             END {
               for (i = 1; i <= NR && !at; i++) if (line[i] ~ /fourmi: /) at = i
               for (i = 1; i <= NR && !at; i++) if (line[i] ~ /error|refused|cannot|not expected|must|invalid/) at = i
               if (!at) exit
               out = line[at]
               for (i = at + 1; i <= NR && line[i] ~ /^  [a-z]/; i++) out = out "; " substr(line[i], 3)
               print out
             }' <<<"$3" \
    | sed -E 's#/tmp/fourmi-[a-z0-9]+-[A-Za-z0-9]+/##g; s/^\[[^]]*\] //; s/on rank ([0-9]+) \([^)]*\)/on rank \1 (HOST)/g;
              s/pid [0-9]+ on [^ )]+/pid PID on HOST/g; s/\b[0-9a-f]{8}\b/XXXXXXXX/g; s/\|/\\|/g' | cut -c1-400)
  printf '| %s | %s | %s |\n' "$1" "$2" "$msg" >> "$FOURMI_BAD_INPUT_TABLE"
}
expect_fail() {  # expect_fail NAME PATTERN CMD...: non-zero exit and PATTERN in the output
  local name=$1 pattern=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && grep -q -- "$pattern" <<<"$out"; then pass "$name"; table_row "$name" "$rc" "$out"
  else fail "$name (rc=$rc): $out"; fi
}
finish() {  # finish NAME: the summary line and the exit status
  if [ "$fails" -eq 0 ]; then echo "$1: all passed"; exit 0; else echo "$1: $fails failed"; exit 1; fi
}
