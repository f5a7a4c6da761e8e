#!/usr/bin/env bash
# Benchmark of rates-server: throughput, p99 latency and memory, against a minimal actix-web
# server returning the same bytes (crates/rates-server/examples/fixed_body_baseline.rs), in the
# same run, on this machine.
#
#   scripts/bench-server.sh PATH/TO/eurofxref-hist.csv [DURATION_SECS]   (default 10 s per run)
#
# Loads the ECB history into a fresh SQLite file with `rates-cli import-ecb`, starts the release
# server with 2 workers, and runs wrk (2 threads, 64 connections) on one day and on a one-year
# range, alternating with the baseline serving each of those exact bodies (BENCH_ROUNDS rounds,
# default 3, medians reported). Prints a Markdown table.
# Environment: BENCH_PORT (default 18080), BENCH_WORKERS (2), BENCH_CONNECTIONS (64),
# RUST_LOG for the server (default info: one access-log line per request, written to a file).
set -euo pipefail
cd "$(dirname "$0")/.."

csv="${1:?usage: scripts/bench-server.sh PATH/TO/eurofxref-hist.csv [DURATION_SECS]}"
duration="${2:-10}"
rounds="${BENCH_ROUNDS:-3}"
port="${BENCH_PORT:-18080}"
baseline_port=$((port + 1))
workers="${BENCH_WORKERS:-2}"
connections="${BENCH_CONNECTIONS:-64}"
day="2024-01-02"
range="2023-01-01..2023-12-31"

if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

cargo build --release -q -p rates-server -p rates-cli --bins --example fixed_body_baseline
target="${CARGO_TARGET_DIR:-target}/release"

work="$(mktemp -d)"
server_pid=""
baseline_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    [ -n "$baseline_pid" ] && kill $baseline_pid 2>/dev/null && wait $baseline_pid 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="$work/bench.db"
echo "importing $csv" >&2
import_started=$(date +%s.%N)
if ! "$target/rates-cli" import-ecb "$csv" >"$work/import.log" 2>&1; then
    cat "$work/import.log" >&2
    exit 1
fi
tail -n 1 "$work/import.log" >&2
echo "import took $(echo "$(date +%s.%N) - $import_started" | bc) s" >&2

wait_for() {
    for _ in $(seq 1 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$1/$2" && return 0
        sleep 0.1
    done
    echo "server on port $1 did not answer" >&2
    cat "$work/server.log" >&2 2>/dev/null
    exit 1
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
RUST_LOG="${RUST_LOG:-info}" "$target/rates-server" --bind "127.0.0.1:$port" --workers "$workers" \
    2>"$work/server.log" &
server_pid=$!
wait_for "$port" health

# wrk's summary: requests/s and the 99th percentile latency (converted to ms).
measure() {
    local url="$1"
    wrk -t2 -c"$connections" -d2s "$url" >/dev/null # warm-up
    wrk -t2 -c"$connections" -d"${duration}s" --latency "$url" >"$work/wrk.txt"
    local rps p99
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    p99=$(echo "$p99" | awk '/us$/ {sub("us",""); print $1/1000; next} /ms$/ {sub("ms",""); print $1; next} /s$/ {sub("s",""); print $1*1000}')
    local errors
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk.txt" | tr '\n' ' ')
    echo "$rps $p99 ${errors:-none}"
}

rss_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# Both servers run side by side and are measured alternately, so that load from anything else
# on the machine falls on both alike; each figure is the median of $rounds runs.
curl -fs "http://127.0.0.1:$port/rates/$day/" -o "$work/day.json"
curl -fs "http://127.0.0.1:$port/rates/$range/" -o "$work/range.json"
declare -A baseline_port_of=([day]=$((port + 1)) [range]=$((port + 2)))
baseline_pids=()
for name in day range; do
    "$target/examples/fixed_body_baseline" --body "$work/$name.json" \
        --bind "127.0.0.1:${baseline_port_of[$name]}" --workers "$workers" 2>/dev/null &
    baseline_pids+=($!)
    wait_for "${baseline_port_of[$name]}" ""
done
baseline_pid="${baseline_pids[*]}"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A server_result baseline_result
for name in day range; do
    if [ "$name" = day ]; then path="rates/$day/"; else path="rates/$range/"; fi
    : >"$work/$name.server" ; : >"$work/$name.baseline"
    for _ in $(seq 1 "$rounds"); do
        measure "http://127.0.0.1:$port/$path" >>"$work/$name.server"
        measure "http://127.0.0.1:${baseline_port_of[$name]}/" >>"$work/$name.baseline"
    done
    server_result[$name]="$(cut -d' ' -f1 "$work/$name.server" | median) $(cut -d' ' -f2 "$work/$name.server" | median) $(cut -d' ' -f3- "$work/$name.server" | sort -u | tr '\n' ' ')"
    baseline_result[$name]="$(cut -d' ' -f1 "$work/$name.baseline" | median) $(cut -d' ' -f2 "$work/$name.baseline" | median)"
done
server_rss=$(rss_kb "$server_pid")
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
access_lines=$(grep -c 'rates_api::access' "$work/server.log" || true)
kill ${baseline_pids[*]} 2>/dev/null || true
wait ${baseline_pids[*]} 2>/dev/null || true
baseline_pid=""

echo
echo "| route | body bytes | rates-server req/s | baseline req/s | ratio | rates-server p99 | baseline p99 |"
echo "|---|---|---|---|---|---|---|"
for name in day range; do
    read -r s_rps s_p99 s_err <<<"${server_result[$name]}"
    read -r b_rps b_p99 _ <<<"${baseline_result[$name]}"
    ratio=$(echo "scale=2; $s_rps / $b_rps" | bc)
    if [ "$name" = day ]; then label="/rates/$day/"; else label="/rates/$range/"; fi
    echo "| $label | $(stat -c %s "$work/$name.json") | $s_rps | $b_rps | $ratio | ${s_p99} ms | ${b_p99} ms |"
    [ "$s_err" != "none " ] && [ "$s_err" != "none" ] && echo "  server errors on $label: $s_err"
done
echo
echo "rates-server peak RSS: $((server_rss / 1024)) MB; access-log lines written: $access_lines"
echo "(medians of $rounds alternating runs; ${connections} connections, 2 wrk threads, ${duration}s per run, ${workers} server workers, RUST_LOG=${RUST_LOG:-info}; load average before: $load_before)"
