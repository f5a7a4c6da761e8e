#!/usr/bin/env bash
# CPU time a server spends per request under wrk's load: runs wrk (2 threads, 64 connections)
# against URL for SECS seconds and divides the change in the process's user and system time
# (/proc/PID/stat, fields 14 and 15) by the requests answered.
#
#   scripts/bench/cpu-per-request.sh PID URL [SECS] [WRK_SCRIPT]
#
# Prints one line: requests/s, wrk's p99, user and system microseconds per request, and wrk's
# error counts if any. Used in docs/benchmarks.md to compare rates-server with the yardstick
# (crates/rates-server/examples/fixed_body_baseline.rs) request kind by request kind.
set -euo pipefail

pid="${1:?usage: cpu-per-request.sh PID URL [SECS] [WRK_SCRIPT]}"
url="${2:?usage: cpu-per-request.sh PID URL [SECS] [WRK_SCRIPT]}"
secs="${3:-5}"
script=()
[ -n "${4:-}" ] && script=(-s "$4")
ticks=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14, $15}' "/proc/$pid/stat"; }

read -r user_before system_before < <(cpu_ticks)
out=$(wrk -t2 -c64 -d"${secs}s" --latency "${script[@]}" "$url")
read -r user_after system_after < <(cpu_ticks)

requests=$(awk '/requests in/ {print $1}' <<<"$out")
rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
per_request() { echo "scale=2; ($1) * 1000000 / $ticks / $requests" | bc; }
echo "req/s $rps p99 $p99 user_us $(per_request "$user_after - $user_before")" \
    "sys_us $(per_request "$system_after - $system_before") $(grep -E 'Non-2xx|Socket' <<<"$out" | tr '\n' ' ')"
