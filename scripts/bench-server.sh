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
#
# Then the read model (every answer computed from the in-memory snapshot): the snapshot's load
# time and the server's RSS once loaded (from its log and /proc), 20 uncached one-year ranges in
# base USD timed one by one with curl, random URLs (scripts/bench/random-urls.lua: random days,
# bases, symbols and one-year ranges) alternating with the day's baseline and with the same URLs
# answered by fixed bodies of their kind (the day's, a one-year range in USD), and 3 runs of
# BENCH_MEMORY_SECS (20) s with 1,000 connections of random URLs, with the RSS after each.
# And the day's p99 with both servers offered the same load (scripts/bench/paced.lua), since at
# full load a closed loop of connections ties latency to throughput.
# Environment: BENCH_PORT (default 18080), BENCH_WORKERS (2), BENCH_CONNECTIONS (64),
# RUST_LOG for the server (default info: one access-log line per request, written to a file),
# BENCH_SERVER_BIN (default: the release rates-server just built), BENCH_COMPARE_BIN (another
# rates-server build, say of the previous commit: it then runs side by side on the same database,
# measured alternately with the others, and a second table compares the two builds directly;
# on a busy machine that is the only fair before/after).
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
    [ -n "${compare_pid:-}" ] && kill "$compare_pid" 2>/dev/null && wait "$compare_pid" 2>/dev/null
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
# 1,000 connections need as many descriptors on both ends.
ulimit -n 8192 2>/dev/null || true
RUST_LOG="${RUST_LOG:-info}" "${BENCH_SERVER_BIN:-$target/rates-server}" --bind "127.0.0.1:$port" --workers "$workers" \
    2>"$work/server.log" &
server_pid=$!
wait_for "$port" health
compare_port=$((port + 3))
compare_pid=""
if [ -n "${BENCH_COMPARE_BIN:-}" ]; then
    RUST_LOG="${RUST_LOG:-info}" "$BENCH_COMPARE_BIN" --bind "127.0.0.1:$compare_port" \
        --workers "$workers" 2>"$work/compare.log" &
    compare_pid=$!
    wait_for "$compare_port" health
fi

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
current_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
loaded_rss_kb=$(current_rss_kb "$server_pid")

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
# The yardstick for random URLs: the same URLs answered with a body of their kind's size (the
# day's for days, a one-year range in USD for ranges), so the ratio shows what computing the
# answers costs rather than what sending a hundred times more bytes costs.
mixed_port=$((port + 4))
curl -fs "http://127.0.0.1:$port/rates/2023-03-01..2024-02-29/?base=USD" -o "$work/range-usd.json"
"$target/examples/fixed_body_baseline" --body "$work/day.json" --range-body "$work/range-usd.json" \
    --bind "127.0.0.1:$mixed_port" --workers "$workers" 2>/dev/null &
baseline_pids+=($!)
wait_for "$mixed_port" ""
baseline_pid="${baseline_pids[*]}"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A server_result baseline_result compare_result
for name in day range; do
    if [ "$name" = day ]; then path="rates/$day/"; else path="rates/$range/"; fi
    : >"$work/$name.server" ; : >"$work/$name.baseline" ; : >"$work/$name.compare"
    for _ in $(seq 1 "$rounds"); do
        measure "http://127.0.0.1:$port/$path" >>"$work/$name.server"
        measure "http://127.0.0.1:${baseline_port_of[$name]}/" >>"$work/$name.baseline"
        if [ -n "$compare_pid" ]; then
            measure "http://127.0.0.1:$compare_port/$path" >>"$work/$name.compare"
        fi
    done
    compare_result[$name]="$(cut -d' ' -f1 "$work/$name.compare" | median) $(cut -d' ' -f2 "$work/$name.compare" | median)"
    server_result[$name]="$(cut -d' ' -f1 "$work/$name.server" | median) $(cut -d' ' -f2 "$work/$name.server" | median) $(cut -d' ' -f3- "$work/$name.server" | sort -u | tr '\n' ' ')"
    baseline_result[$name]="$(cut -d' ' -f1 "$work/$name.baseline" | median) $(cut -d' ' -f2 "$work/$name.baseline" | median)"
done

# The read model. Uncached one-year ranges in another base, one at a time.
: >"$work/uncached.ms"
for year in $(seq 2001 2020); do
    curl -fs -o /dev/null -w '%{time_total}\n' \
        "http://127.0.0.1:$port/rates/$year-03-01..$((year + 1))-02-28/?base=USD" \
        | awk '{print $1 * 1000}' >>"$work/uncached.ms"
done
uncached_median=$(median <"$work/uncached.ms")
uncached_max=$(sort -g "$work/uncached.ms" | tail -n 1)

# Random URLs against the day's fixed-body baseline, alternating.
measure_script() {
    local url="$1" script="$2"
    wrk -t2 -c"$connections" -d2s -s "$script" "$url" >/dev/null # warm-up
    wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$script" "$url" >"$work/wrk.txt"
    local rps p99 errors
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    p99=$(echo "$p99" | awk '/us$/ {sub("us",""); print $1/1000; next} /ms$/ {sub("ms",""); print $1; next} /s$/ {sub("s",""); print $1*1000}')
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk.txt" | tr '\n' ' ')
    echo "$rps $p99 ${errors:-none}"
}
: >"$work/random.server"; : >"$work/random.baseline"; : >"$work/random.mixed"
for _ in $(seq 1 "$rounds"); do
    measure_script "http://127.0.0.1:$port" scripts/bench/random-urls.lua >>"$work/random.server"
    measure "http://127.0.0.1:${baseline_port_of[day]}/" >>"$work/random.baseline"
    measure_script "http://127.0.0.1:$mixed_port" scripts/bench/random-urls.lua >>"$work/random.mixed"
done
random_mixed="$(cut -d' ' -f1 "$work/random.mixed" | median) $(cut -d' ' -f2 "$work/random.mixed" | median)"
random_server="$(cut -d' ' -f1 "$work/random.server" | median) $(cut -d' ' -f2 "$work/random.server" | median)"
random_errors="$(cut -d' ' -f3- "$work/random.server" | sort -u | tr '\n' ' ')"
random_baseline="$(cut -d' ' -f1 "$work/random.baseline" | median) $(cut -d' ' -f2 "$work/random.baseline" | median)"

# The day's latency with both servers offered the same load (scripts/bench/paced.lua: each
# connection waits 1 ms between an answer and its next request). At full load wrk's connections
# are a closed loop: a server answering fewer requests per second keeps each of the 64 waiting
# longer (Little's law), so the full-load p99 above follows throughput. Paced, well below what
# either server can answer, the p99 is what a request waits at the same load.
: >"$work/paced.server"; : >"$work/paced.baseline"
for _ in $(seq 1 "$rounds"); do
    measure_script "http://127.0.0.1:$port/rates/$day/" scripts/bench/paced.lua >>"$work/paced.server"
    measure_script "http://127.0.0.1:${baseline_port_of[day]}/" scripts/bench/paced.lua >>"$work/paced.baseline"
done
paced_server="$(cut -d' ' -f1 "$work/paced.server" | median) $(cut -d' ' -f2 "$work/paced.server" | median)"
paced_errors="$(cut -d' ' -f3- "$work/paced.server" | sort -u | tr '\n' ' ')"
paced_baseline="$(cut -d' ' -f1 "$work/paced.baseline" | median) $(cut -d' ' -f2 "$work/paced.baseline" | median)"

# Memory under 1,000 connections of random URLs, three runs.
memory_secs="${BENCH_MEMORY_SECS:-20}"
rss_runs=()
memory_errors=""
memory_rps=""
for _ in 1 2 3; do
    wrk -t2 -c1000 -d"${memory_secs}s" -s scripts/bench/random-urls.lua \
        "http://127.0.0.1:$port" >"$work/wrk-memory.txt"
    rss_runs+=("$(current_rss_kb "$server_pid")")
    memory_errors+="$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk-memory.txt" | tr '\n' ' ')"
    memory_rps+=" $(awk '/^Requests\/sec/ {print $2}' "$work/wrk-memory.txt")"
done
snapshot_load=$(grep -o 'into memory in [0-9]* ms' "$work/server.log" | head -n 1)
server_rss=$(rss_kb "$server_pid")
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
access_lines=$(grep -c 'rates_api::access' "$work/server.log" || true)
# Lines the server dropped because stderr did not keep up (it says so in a warning).
dropped_lines=$( (grep -o '[0-9]* log lines dropped' "$work/server.log" || true) | awk '{n += $1} END {print n + 0}')
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
if [ -n "$compare_pid" ]; then
    echo
    echo "| route | this build req/s | $BENCH_COMPARE_BIN req/s | ratio | this build p99 | other p99 |"
    echo "|---|---|---|---|---|---|"
    for name in day range; do
        read -r s_rps s_p99 _ <<<"${server_result[$name]}"
        read -r c_rps c_p99 <<<"${compare_result[$name]}"
        if [ "$name" = day ]; then label="/rates/$day/"; else label="/rates/$range/"; fi
        echo "| $label | $s_rps | $c_rps | $(echo "scale=2; $s_rps / $c_rps" | bc) | ${s_p99} ms | ${c_p99} ms |"
    done
    kill -TERM "$compare_pid" 2>/dev/null || true
    wait "$compare_pid" 2>/dev/null || true
    compare_pid=""
fi
echo
echo "rates-server peak RSS: $((server_rss / 1024)) MB; access-log lines written: $access_lines; log lines dropped: $dropped_lines"
echo
echo "Read model:"
echo "- snapshot of the ECB history loaded ${snapshot_load#into memory }; RSS once loaded: $((loaded_rss_kb / 1024)) MB"
echo "- uncached one-year range in base USD (20 distinct, one at a time, curl's total time): median ${uncached_median} ms, slowest ${uncached_max} ms"
read -r r_rps r_p99 <<<"$random_server"
read -r rb_rps rb_p99 <<<"$random_baseline"
read -r rm_rps rm_p99 <<<"$random_mixed"
echo "- random URLs: $r_rps req/s, p99 $r_p99 ms; baseline (the day's body) $rb_rps req/s, p99 $rb_p99 ms; ratio $(echo "scale=2; $r_rps / $rb_rps" | bc); errors: ${random_errors}"
echo "- random URLs against the same URLs answered with fixed bodies of their kind (day / one-year range in USD): $rm_rps req/s, p99 $rm_p99 ms; ratio $(echo "scale=2; $r_rps / $rm_rps" | bc)"
read -r pc_rps pc_p99 <<<"$paced_server"
read -r pb_rps pb_p99 <<<"$paced_baseline"
echo "- /rates/$day/ at the same paced load (each connection waits 1 ms between requests): $pc_rps req/s, p99 $pc_p99 ms; baseline $pb_rps req/s, p99 $pb_p99 ms; errors: ${paced_errors}"
echo "- 1,000 connections of random URLs, ${memory_secs}s x 3: RSS after each run $((rss_runs[0] / 1024)) / $((rss_runs[1] / 1024)) / $((rss_runs[2] / 1024)) MB; req/s${memory_rps}; errors: ${memory_errors:-none}"
echo "(medians of $rounds alternating runs; ${connections} connections, 2 wrk threads, ${duration}s per run, ${workers} server workers, RUST_LOG=${RUST_LOG:-info}; load average before: $load_before)"
