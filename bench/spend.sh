#!/usr/bin/env bash
# Spend import throughput and peak memory, end to end: generates Devon-shaped "spend over £500"
# CSVs (bench/gen_finance.py, deterministic) and runs `ocreg import spend` (release build) on
# each into a fresh SQLite file, then once more on the largest into the same file (every line
# already stored). Prints rows, seconds, rows/s and the import's maximum resident set size per
# file size: flat memory means the same RSS for every size.
#
#   bash bench/spend.sh                        # 250,000 and 1,000,000 rows
#   SIZES="100000" bash bench/spend.sh         # other sizes
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"250000 1000000"}
SEED=${SEED:-1}
PUBLISHER=${PUBLISHER:-GB-LAE-DEV}
WORK=${WORK:-/tmp/bench-perf}
mkdir -p "$WORK"

cargo build --release -q
OCREG=${CARGO_TARGET_DIR:-target}/release/ocreg
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Wall-clock seconds, and user + system CPU seconds (what the import costs when the machine is
# shared); rows/s is from the wall clock.
printf '%-9s %-6s %8s %7s %7s %8s %9s\n' rows run imported s "cpu s" rows/s "max RSS"
for ROWS in $SIZES; do
  DATA="$WORK/spend-$ROWS-$SEED.csv"
  [ -s "$DATA" ] || python3 bench/gen_finance.py spend --rows "$ROWS" --seed "$SEED" --out "$DATA"
  DB="$WORK/spend-bench.db"
  rm -f "$DB" "$DB"-wal "$DB"-shm
  URL=sqlite://$DB
  "$OCREG" --config /dev/null --database "$URL" migrate 2>/dev/null
  for RUN in fresh again; do
    LOG=$(mktemp)
    RUST_LOG=warn /usr/bin/time -v "$OCREG" --config /dev/null --database "$URL" \
      import spend "$DATA" --publisher "$PUBLISHER" 2>"$LOG" || { cat "$LOG"; exit 1; }
    SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$LOG")
    READ=$(sed -nE 's/.*: ([0-9]+) row\(s\) read, ([0-9]+) imported.*/\1/p' "$LOG")
    IMPORTED=$(sed -nE 's/.*: ([0-9]+) row\(s\) read, ([0-9]+) imported.*/\2/p' "$LOG")
    CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.1f", s}' "$LOG")
    RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MB", $2 / 1024}' "$LOG")
    RATE=$(awk -v n="$READ" -v s="$SECS" 'BEGIN {printf "%.0f", n / s}')
    printf '%-9s %-6s %8s %7s %7s %8s %9s\n' "$READ" "$RUN" "$IMPORTED" "$SECS" "$CPU" "$RATE" "$RSS"
    rm -f "$LOG"
  done
done
rm -f "$WORK/spend-bench.db" "$WORK/spend-bench.db"-wal "$WORK/spend-bench.db"-shm
