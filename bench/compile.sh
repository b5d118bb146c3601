#!/usr/bin/env bash
# End-to-end record compilation: `ocreg compile` against the reference tools on the same data
# and machine. Prints releases/s and peak RSS for each, and checks ocreg's output equals the
# reference implementation's (as JSON, for every ocid).
#
#   bash bench/compile.sh                 # 20,000 ocids (~110k releases), seed 1
#   OCIDS=2000 bash bench/compile.sh      # quicker
#   SKIP_SLOW=1 bash bench/compile.sh     # ocreg and ocdsmerge-rs only
#
# Needs python3 (the reference tools are installed from PyPI into target/bench/venv) and the
# generator ../shared/tools/gen_ocds.py (or GEN_OCDS=path).
set -euo pipefail
cd "$(dirname "$0")/.."
OCIDS=${OCIDS:-20000}
SEED=${SEED:-1}
GEN_OCDS=${GEN_OCDS:-../shared/tools/gen_ocds.py}
WORK=target/bench
SCHEMA=ocds/schema/1__1__5/release-schema.json
mkdir -p "$WORK"
DATA="$WORK/releases-$OCIDS-$SEED.jsonl"

[ -s "$DATA" ] || python3 "$GEN_OCDS" --ocids "$OCIDS" --seed "$SEED" --out "$DATA"
RELEASES=$(wc -l <"$DATA")
SIZE_MB=$(du -m "$DATA" | cut -f1)
echo "data: $DATA: $RELEASES releases, $OCIDS ocids, ${SIZE_MB} MB"

if [ ! -x "$WORK/venv/bin/python" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q ocdsmerge==0.8.0 ocdsmerge-rs==0.1.6 ocdskit==1.7.0
fi
cargo build --release -q
OCREG=target/release/ocreg

# run NAME OUT COMMAND...: times COMMAND (stdout to OUT), prints releases/s and peak RSS.
run() {
  local name=$1 out=$2
  shift 2
  local stats
  stats=$( { /usr/bin/time -f "%e %M" "$@" >"$out"; } 2>&1 | tail -1)
  local secs=${stats% *} rss_kb=${stats#* }
  awk -v n="$name" -v r="$RELEASES" -v s="$secs" -v m="$rss_kb" \
    'BEGIN { printf "%-34s %8.2f s %10.0f releases/s %8.1f MB peak RSS\n", n, s, r / (s > 0 ? s : 0.001), m / 1024 }'
}

echo "--- compiled releases"
run "ocreg compile" "$WORK/ocreg.jsonl" "$OCREG" compile "$DATA"
run "ocdsmerge-rs 0.1.6 (Python API)" "$WORK/ocdsmerge-rs.jsonl" \
  "$WORK/venv/bin/python" bench/reference_compile.py ocdsmerge-rs "$SCHEMA" "$DATA" /dev/stdout
if [ -z "${SKIP_SLOW:-}" ]; then
  run "ocdsmerge 0.8.0" "$WORK/ocdsmerge.jsonl" \
    "$WORK/venv/bin/python" bench/reference_compile.py ocdsmerge "$SCHEMA" "$DATA" /dev/stdout
  run "ocdskit 1.7.0 compile --schema" "$WORK/ocdskit.jsonl" \
    sh -c "'$WORK/venv/bin/ocdskit' compile --schema '$SCHEMA' < '$DATA'"
fi
echo "--- versioned releases"
run "ocreg compile --versioned" "$WORK/ocreg-versioned.jsonl" "$OCREG" compile --versioned "$DATA"
run "ocdsmerge-rs 0.1.6 versioned" "$WORK/ocdsmerge-rs-versioned.jsonl" \
  "$WORK/venv/bin/python" bench/reference_compile.py ocdsmerge-rs "$SCHEMA" "$DATA" /dev/stdout --versioned
if [ -z "${SKIP_SLOW:-}" ]; then
  run "ocdsmerge 0.8.0 versioned" "$WORK/ocdsmerge-versioned.jsonl" \
    "$WORK/venv/bin/python" bench/reference_compile.py ocdsmerge "$SCHEMA" "$DATA" /dev/stdout --versioned
fi

echo "--- output equal to the reference implementation (as JSON, every ocid)"
REF=ocdsmerge-rs
[ -z "${SKIP_SLOW:-}" ] && REF=ocdsmerge
"$WORK/venv/bin/python" bench/compare_outputs.py "$WORK/$REF.jsonl" "$WORK/ocreg.jsonl"
"$WORK/venv/bin/python" bench/compare_outputs.py "$WORK/$REF-versioned.jsonl" "$WORK/ocreg-versioned.jsonl"
