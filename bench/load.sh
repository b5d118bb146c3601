#!/usr/bin/env bash
# Load test of the register API on SQLite: a database of ~1M releases made with gen_ocds.py
# and `ocreg import`, then wrk against a release build of `ocreg serve` on 127.0.0.1:
#   1. GET /api/v1/records/{ocid} for random ocids,
#   2. a filtered view query (opportunities by buyer and CPV prefix),
#   3. a full-text query (intentions matching two words).
# Prints requests/s and latency percentiles (p50/p95/p99) for each, and the server's peak RSS.
#
#   bash bench/load.sh                  # 180,000 ocids ≈ 1M releases (the generator and the
#                                       # import take a while; both are reused on later runs)
#   OCIDS=20000 bash bench/load.sh      # quicker
#   DURATION=30s CONNECTIONS=64 THREADS=2 bash bench/load.sh
#
# Needs wrk (Debian package; installed here if missing) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
OCIDS=${OCIDS:-180000}
SEED=${SEED:-1}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18090}
GEN_OCDS=${GEN_OCDS:-../shared/tools/gen_ocds.py}
WORK=target/bench
mkdir -p "$WORK"
DATA="$WORK/releases-$OCIDS-$SEED.jsonl"
DB="$WORK/load-$OCIDS-$SEED.db"

if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release -q
OCREG=target/release/ocreg

[ -s "$DATA" ] || python3 "$GEN_OCDS" --ocids "$OCIDS" --seed "$SEED" --out "$DATA"
if [ ! -s "$DB" ]; then
  echo "importing $(wc -l <"$DATA") releases into $DB"
  "$OCREG" --database "sqlite://$DB" import "$DATA"
fi

# Random ocids to request: every 7th ocid of the data.
OCID_LIST="$WORK/ocids-$OCIDS.txt"
[ -s "$OCID_LIST" ] || python3 - "$OCIDS" >"$OCID_LIST" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(1, n + 1, 7):
    print(f"ocds-synth1-{i:08d}")
PY
head -1 "$OCID_LIST" | grep -q . || { echo "no ocids"; exit 1; }

OCREG_RATE_LIMIT_PER_SECOND=0 RUST_LOG=warn "$OCREG" --database "sqlite://$DB" serve --no-demo \
  --bind "127.0.0.1:$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done

LUA="$WORK/load.lua"
cat >"$LUA" <<'LUA'
-- Requests the path in PATHS (one per line, from the env var PATHS_FILE) in random order and
-- reports p50/p95/p99 latency.
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  io.write(string.format("  %.0f requests/s, p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, %d errors\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
LUA

run() {
  local name=$1 paths=$2
  echo "$name"
  PATHS_FILE="$paths" wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" -s "$LUA" \
    "http://127.0.0.1:$PORT" | grep -E "requests/s" || true
}

BY_OCID="$WORK/paths-by-ocid.txt"
sed 's|^|/api/v1/records/|' "$OCID_LIST" >"$BY_OCID"
FILTERED="$WORK/paths-filtered.txt"
: >"$FILTERED"
for buyer in GB-GOR-PB1001 GB-GOR-PB1002 GB-GOR-PB1003 GB-NHS-QWO GB-NHS-QOP; do
  for cpv in 853 8531 803 8532; do
    echo "/api/v1/opportunities?buyer=$buyer&cpv=$cpv&limit=50" >>"$FILTERED"
    echo "/api/v1/contracts?buyer=$buyer&cpv=$cpv&value_min=10000&limit=50" >>"$FILTERED"
  done
done
FULLTEXT="$WORK/paths-fulltext.txt"
: >"$FULLTEXT"
for q in "mental%20health" "fostering%20placements" "youth%20justice" "school%20transport" "children%20advocacy" "care%20leavers"; do
  echo "/api/v1/intentions?q=$q&limit=50" >>"$FULLTEXT"
  echo "/api/v1/opportunities?q=$q&limit=50" >>"$FULLTEXT"
done

echo "server: ocreg serve (release) on SQLite $DB; wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
run "GET /api/v1/records/{ocid} (random ocids)" "$BY_OCID"
run "filtered view queries (buyer + CPV prefix [+ value])" "$FILTERED"
run "full-text queries (q= two words)" "$FULLTEXT"
echo "server peak RSS: $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' /proc/$SERVER/status)"
