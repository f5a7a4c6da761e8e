#!/usr/bin/env bash
# Benchmark of the whole-history downloads: `/rates/{first}..{last}/?format=csv` (and ndjson)
# from the release rates-server over the full ECB history.
#
#   scripts/bench-export.sh PATH/TO/eurofxref-hist.csv [RUNS]   (default 20 sequential runs)
#
# Loads the history into a fresh SQLite file with `rates-cli import-ecb`, starts the server with
# 2 workers, and
#   1. checks that the downloaded CSV, parsed back, equals the ECB file value for value;
#   2. times RUNS sequential downloads of each format with curl (time to first byte, total),
#      reporting medians;
#   3. samples the server's resident memory (VmRSS, every 10 ms) while 16 clients download the
#      CSV at once (each 3 times at full speed, then each once at 4 MB/s so the transfers
#      overlap for seconds), against its idle RSS before any download.
# Prints a Markdown summary. Environment: BENCH_PORT (default 18090), BENCH_WORKERS (2).
set -euo pipefail
cd "$(dirname "$0")/.."

csv="${1:?usage: scripts/bench-export.sh PATH/TO/eurofxref-hist.csv [RUNS]}"
runs="${2:-20}"
port="${BENCH_PORT:-18090}"
workers="${BENCH_WORKERS:-2}"
clients=16

for tool in curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "installing $tool" >&2
        apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null
    fi
done

cargo build --release -q -p rates-server -p rates-cli --bins
target="${CARGO_TARGET_DIR:-target}/release"

work="$(mktemp -d)"
server_pid=""
sampler_pid=""
cleanup() {
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="$work/bench.db"
echo "importing $csv" >&2
if ! "$target/rates-cli" import-ecb "$csv" >"$work/import.log" 2>&1; then
    cat "$work/import.log" >&2
    exit 1
fi

RUST_LOG="${RUST_LOG:-warn}" "$target/rates-server" --bind "127.0.0.1:$port" --workers "$workers" \
    2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/health" && break
    sleep 0.1
done
curl -fs -o /dev/null "http://127.0.0.1:$port/health" || { cat "$work/server.log" >&2; exit 1; }
sleep 1
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }
idle_kb=$(rss_kb)

# The range of the file's first and last dates.
first=$(tail -n 1 "$csv" | cut -d, -f1)
last=$(sed -n 2p "$csv" | cut -d, -f1)
base_url="http://127.0.0.1:$port/rates/$first..$last/"

# 1. Value for value.
curl -fs "$base_url?format=csv" -o "$work/history.csv"
python3 - "$csv" "$work/history.csv" <<'EOF'
import csv, sys
ecb, served = sys.argv[1], sys.argv[2]
expected = {}
with open(ecb) as f:
    rows = csv.reader(f)
    header = [h.strip() for h in next(rows)]
    for row in rows:
        if not row or not row[0].strip():
            continue
        for code, cell in zip(header[1:], row[1:]):
            cell = cell.strip()
            if code and cell and cell != "N/A":
                expected[(row[0].strip(), code)] = float(cell)
got = {}
with open(served) as f:
    rows = csv.reader(f)
    assert next(rows) == ["date", "base", "currency", "rate"]
    for date, base, code, rate in rows:
        assert base == "EUR", base
        assert (date, code) not in got, (date, code)
        got[(date, code)] = float(rate)
missing = expected.keys() - got.keys()
extra = got.keys() - expected.keys()
differ = [k for k in expected.keys() & got.keys() if expected[k] != got[k]]
print(f"value check: {len(expected)} values in the file, {len(got)} served, "
      f"{len(missing)} missing, {len(extra)} extra, {len(differ)} different", file=sys.stderr)
sys.exit(1 if missing or extra or differ else 0)
EOF

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 2. Sequential downloads: time to first byte and total (seconds), size.
time_downloads() {
    local url="$1" out="$2"
    : >"$out"
    curl -fs -o /dev/null "$url" # warm-up
    for _ in $(seq 1 "$runs"); do
        curl -fs -o /dev/null -w '%{time_starttransfer} %{time_total} %{size_download}\n' "$url" >>"$out"
    done
}
time_downloads "$base_url?format=csv" "$work/csv.times"
time_downloads "$base_url?format=ndjson" "$work/ndjson.times"
time_downloads "$base_url?format=csv&group=month" "$work/monthly.times"
after_sequential_kb=$(rss_kb)

# 3. 16 clients at once, RSS sampled every 10 ms.
( while kill -0 "$server_pid" 2>/dev/null; do rss_kb; sleep 0.01; done ) >"$work/rss.samples" &
sampler_pid=$!
started=$(date +%s.%N)
pids=()
for _ in $(seq 1 "$clients"); do
    ( for _ in 1 2 3; do curl -fs -o /dev/null "$base_url?format=csv"; done ) &
    pids+=($!)
done
wait "${pids[@]}"
fast_secs=$(echo "$(date +%s.%N) - $started" | bc)
fast_peak_kb=$(sort -n "$work/rss.samples" | tail -n 1)
: >"$work/rss.samples"
started=$(date +%s.%N)
pids=()
for _ in $(seq 1 "$clients"); do
    curl -fs -o /dev/null --limit-rate 4M "$base_url?format=csv" &
    pids+=($!)
done
wait "${pids[@]}"
slow_secs=$(echo "$(date +%s.%N) - $started" | bc)
slow_peak_kb=$(sort -n "$work/rss.samples" | tail -n 1)
kill "$sampler_pid" 2>/dev/null || true
sampler_pid=""

ms() { awk '{printf "%.1f", $1 * 1000}'; }
echo
echo "| download (${runs} sequential runs, medians) | bytes | first byte | whole |"
echo "|---|---|---|---|"
for name in csv ndjson monthly; do
    case $name in
        csv) label="CSV, $first..$last" ;;
        ndjson) label="NDJSON, $first..$last" ;;
        monthly) label="CSV, monthly means, $first..$last" ;;
    esac
    echo "| $label | $(cut -d' ' -f3 "$work/$name.times" | median) | $(cut -d' ' -f1 "$work/$name.times" | median | ms) ms | $(cut -d' ' -f2 "$work/$name.times" | median | ms) ms |"
done
echo
echo "| server RSS | MB | over idle |"
echo "|---|---|---|"
echo "| idle, before any download | $(echo "scale=1; $idle_kb / 1024" | bc) | |"
echo "| after the sequential downloads | $(echo "scale=1; $after_sequential_kb / 1024" | bc) | $(echo "scale=1; ($after_sequential_kb - $idle_kb) / 1024" | bc) |"
echo "| peak, $clients clients × 3 full-speed CSV downloads at once (${fast_secs%.*} s) | $(echo "scale=1; $fast_peak_kb / 1024" | bc) | $(echo "scale=1; ($fast_peak_kb - $idle_kb) / 1024" | bc) |"
echo "| peak, $clients clients at 4 MB/s each at once (${slow_secs%.*} s) | $(echo "scale=1; $slow_peak_kb / 1024" | bc) | $(echo "scale=1; ($slow_peak_kb - $idle_kb) / 1024" | bc) |"
echo
echo "(${workers} server workers; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
