#!/usr/bin/env bash
# What the metrics cost: throughput of /rates/{day}/ on two rates-server processes over the same
# database, one with server.metrics on (every answer counted and timed) and one with it off,
# measured alternately with wrk in one run; prints the medians and their ratio.
#
#   scripts/bench-metrics.sh PATH/TO/eurofxref-hist.csv [DURATION_SECS]   (default 5 s per run)
#
# Environment: BENCH_ROUNDS (default 5), BENCH_PORT (18180; the second server uses +1),
# BENCH_WORKERS (2), BENCH_CONNECTIONS (64). The access log is on (RUST_LOG=info) for both.
set -euo pipefail
cd "$(dirname "$0")/.."

csv="${1:?usage: scripts/bench-metrics.sh PATH/TO/eurofxref-hist.csv [DURATION_SECS]}"
duration="${2:-5}"
rounds="${BENCH_ROUNDS:-5}"
port_on="${BENCH_PORT:-18180}"
port_off=$((port_on + 1))
workers="${BENCH_WORKERS:-2}"
connections="${BENCH_CONNECTIONS:-64}"
day="2024-01-02"

if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

cargo build --release -q -p rates-server -p rates-cli --bins
target="${CARGO_TARGET_DIR:-target}/release"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="$work/bench.db"
"$target/rates-cli" import-ecb "$csv" >/dev/null

start() {
    RUST_LOG=info RATES__SERVER__METRICS="$2" "$target/rates-server" --bind "127.0.0.1:$1" \
        --workers "$workers" 2>"$work/server-$1.log" &
    pids+=($!)
    for _ in $(seq 1 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$1/health" && return 0
        sleep 0.1
    done
    echo "server on port $1 did not answer" >&2
    exit 1
}
start "$port_on" true
start "$port_off" false
curl -fs "http://127.0.0.1:$port_on/metrics" | grep -q '^rates_http_requests_total' \
    || { echo "metrics are not on at $port_on" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port_off/metrics")" = 404 ] \
    || { echo "metrics are not off at $port_off" >&2; exit 1; }

rps() {
    wrk -t2 -c"$connections" -d"${duration}s" "http://127.0.0.1:$1/rates/$day/" >"$work/wrk.txt"
    if grep -qE 'Non-2xx|Socket errors' "$work/wrk.txt"; then
        echo "errors on port $1:" >&2
        cat "$work/wrk.txt" >&2
        exit 1
    fi
    awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

wrk -t2 -c"$connections" -d2s "http://127.0.0.1:$port_on/rates/$day/" >/dev/null
wrk -t2 -c"$connections" -d2s "http://127.0.0.1:$port_off/rates/$day/" >/dev/null
: >"$work/on"
: >"$work/off"
for _ in $(seq 1 "$rounds"); do
    rps "$port_on" >>"$work/on"
    rps "$port_off" >>"$work/off"
done
on=$(median <"$work/on")
off=$(median <"$work/off")
echo "| /rates/$day/ | metrics on req/s | metrics off req/s | ratio |"
echo "|---|---|---|---|"
echo "| median of $rounds | $on | $off | $(echo "scale=3; $on / $off" | bc) |"
echo "(runs on: $(tr '\n' ' ' <"$work/on"); off: $(tr '\n' ' ' <"$work/off"); ${connections} connections, ${duration}s per run, ${workers} workers each)"
