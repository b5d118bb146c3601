#!/usr/bin/env bash
# Spend-to-contract reconciliation at scale: a register holding 100,000 awarded contracts of
# one council (bench/gen_finance.py contracts: one award+contract release each, buyer the spend
# publisher, suppliers drawn from the spend file's suppliers) and 1,000,000 of its payments
# (bench/gen_finance.py spend), all in a SQLite file; then `ocreg reconcile` (release build)
# recomputes every link (register::spend::relink: load and index the contracts, read the
# payments, match, replace the links). Prints payments, contracts, links, seconds and the
# reconcile's maximum resident set size. The register is built once and reused by later runs.
#
#   bash bench/reconcile.sh
#   CONTRACTS=10000 ROWS=100000 bash bench/reconcile.sh   # smaller
#   RUNS=3 bash bench/reconcile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CONTRACTS=${CONTRACTS:-100000}
ROWS=${ROWS:-1000000}
SEED=${SEED:-1}
RUNS=${RUNS:-1}
PUBLISHER=${PUBLISHER:-GB-LAE-DEV}
WORK=${WORK:-/tmp/bench-perf}
mkdir -p "$WORK"

cargo build --release -q
OCREG=${CARGO_TARGET_DIR:-target}/release/ocreg
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

SPEND="$WORK/spend-$ROWS-$SEED.csv"
RELEASES="$WORK/contracts-$CONTRACTS-$SEED.jsonl"
DB="$WORK/reconcile-$CONTRACTS-$ROWS-$SEED.db"
[ -s "$SPEND" ] || python3 bench/gen_finance.py spend --rows "$ROWS" --seed "$SEED" --out "$SPEND"
[ -s "$RELEASES" ] || python3 bench/gen_finance.py contracts --contracts "$CONTRACTS" \
  --seed "$SEED" --publisher "$PUBLISHER" --out "$RELEASES"
if [ ! -s "$DB" ]; then
  rm -f "$DB".building "$DB".building-wal "$DB".building-shm
  RUST_LOG=warn "$OCREG" --config /dev/null --database "sqlite://$DB.building" import "$RELEASES" 2>&1 | tail -1
  # The import ends with a relink of its own; the runs below time relink alone.
  RUST_LOG=warn "$OCREG" --config /dev/null --database "sqlite://$DB.building" \
    import spend "$SPEND" --publisher "$PUBLISHER" 2>&1 | head -2
  mv "$DB".building "$DB"
  rm -f "$DB".building-wal "$DB".building-shm
fi

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %9s %9s %8s %7s %7s %9s\n' run payments contracts links s "cpu s" "max RSS"
for RUN in $(seq "$RUNS"); do
  LOG=$(mktemp)
  RUST_LOG=warn /usr/bin/time -v "$OCREG" --config /dev/null --database "sqlite://$DB" \
    reconcile --publisher "$PUBLISHER" 2>"$LOG" || { cat "$LOG"; exit 1; }
  SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$LOG")
  read -r PAYMENTS CONTRACTS_SEEN LINKS < <(sed -nE 's/.*: ([0-9]+) payment\(s\), ([0-9]+) contract\(s\), ([0-9]+) link\(s\).*/\1 \2 \3/p' "$LOG")
  CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.1f", s}' "$LOG")
  RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MB", $2 / 1024}' "$LOG")
  printf '%-4s %9s %9s %8s %7s %7s %9s\n' "$RUN" "$PAYMENTS" "$CONTRACTS_SEEN" "$LINKS" "$SECS" "$CPU" "$RSS"
  grep -o '(contracts.*)' "$LOG" | sed 's/^/     phases: /'
  rm -f "$LOG"
done
