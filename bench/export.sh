#!/usr/bin/env bash
# Bulk export throughput and peak memory: `ocreg export` (release build) on SQLite databases of
# two sizes made with gen_ocds.py and `ocreg import`, each format timed on its own with
# /usr/bin/time -v. Prints, per size and format: items, MB written, seconds, MB/s and the
# process's maximum resident set size.
#
#   bash bench/export.sh                     # 20,000 ocids (≈ 110k releases) and 180,000
#                                            # (≈ 1M releases); data and databases are reused
#   SIZES=20000 bash bench/export.sh         # one size
#   FORMATS="releases-jsonl zip" bash bench/export.sh
#   OUT=/dev/shm/ocreg-export bash bench/export.sh   # write the files elsewhere (removed after
#                                                    # each run)
#
# A database is built only when missing (`target/bench/export-OCIDS-SEED.db`): generating 1M
# releases and importing them takes a few minutes and ~12 GB of disk.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"20000 180000"}
SEED=${SEED:-1}
FORMATS=${FORMATS:-"releases-jsonl releases-json records-jsonl records-json csv zip"}
GEN_OCDS=${GEN_OCDS:-../shared/tools/gen_ocds.py}
WORK=target/bench
OUT=${OUT:-$WORK/export-out}
mkdir -p "$WORK"

cargo build --release -q
OCREG=${CARGO_TARGET_DIR:-target}/release/ocreg
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-15s %10s %-9s %9s %8s %9s %9s\n' ocids format items "" MB s MB/s "max RSS"
for OCIDS in $SIZES; do
  DATA="$WORK/releases-$OCIDS-$SEED.jsonl"
  DB="$WORK/export-$OCIDS-$SEED.db"
  [ -s "$DATA" ] || python3 "$GEN_OCDS" --ocids "$OCIDS" --seed "$SEED" --out "$DATA"
  if [ ! -s "$DB" ]; then
    echo "importing $(wc -l <"$DATA") releases into $DB" >&2
    "$OCREG" --database "sqlite://$DB" import "$DATA" >&2
  fi
  # Up to date before timing (a pending migration would recompute every record's columns).
  RUST_LOG=warn "$OCREG" --database "sqlite://$DB" migrate 2>/dev/null
  for FORMAT in $FORMATS; do
    rm -rf "$OUT"
    LOG=$(mktemp)
    RUST_LOG=warn /usr/bin/time -v "$OCREG" --database "sqlite://$DB" export --out "$OUT" \
      --format "$FORMAT" 2>"$LOG" || { cat "$LOG"; exit 1; }
    # The command's total line: "exported N file(s) into DIR: X MB in Y s (Z MB/s)".
    read -r MB SECS RATE < <(sed -nE 's/^exported .*: ([0-9.]+) MB in ([0-9.]+) s \(([0-9.]+) MB\/s\)$/\1 \2 \3/p' "$LOG")
    # Items: the file lines' fourth-from-last columns (releases, records or rows).
    ITEMS=$(awk '/^  [a-z_\/.]+ +[0-9]+ (releases|records|rows)/ {n += $2; u = $3} END {print n, u}' "$LOG")
    RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MB", $2 / 1024}' "$LOG")
    printf '%-9s %-15s %10s %-9s %9s %8s %9s %9s\n' "$OCIDS" "$FORMAT" $ITEMS "$MB" "$SECS" "$RATE" "$RSS"
    rm -f "$LOG"
  done
  rm -rf "$OUT"
done
