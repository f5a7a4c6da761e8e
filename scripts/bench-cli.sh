#!/usr/bin/env bash
# Benchmarks of rates-cli: import-ecb of the whole ECB history into a fresh SQLite file (time with
# hyperfine, peak memory with /usr/bin/time -v), and the 10-day ingest against a mock Fixer that
# answers each request in 200 ms (crates/rates-ingest/examples/ten_day_ingest.rs).
#
#   scripts/bench-cli.sh PATH/TO/eurofxref-hist.csv [RUNS]
#
# Installs hyperfine and GNU time with apt-get when they are missing. Targets: import under 3 s
# and 100 MB peak memory; 10-day ingest under 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."

csv="${1:?usage: scripts/bench-cli.sh PATH/TO/eurofxref-hist.csv [RUNS]}"
runs="${2:-10}"
csv="$(realpath "$csv")"

if ! command -v hyperfine >/dev/null 2>&1 || [ ! -x /usr/bin/time ]; then
    echo "installing hyperfine and time" >&2
    apt-get update -qq && apt-get install -y -qq hyperfine time >/dev/null
fi

cargo build --release -q -p rates-cli -p rates-ingest --example ten_day_ingest
target="$(realpath "${CARGO_TARGET_DIR:-target}")/release"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/rates.db"
# Settings come from the flags only: no config/ or .env from the repository.
cd "$work"

echo "== import-ecb: $(wc -l <"$csv") lines into a fresh SQLite file"
hyperfine --runs "$runs" --warmup 1 \
    --prepare "rm -f '$db' '$db-wal' '$db-shm'" --export-json "$work/import.json" \
    "'$target/rates-cli' --database-url '$db' import-ecb '$csv'"
grep -o '"median": *[0-9.]*' "$work/import.json" | sed 's/"median": */median (s): /'

echo "== import-ecb: peak memory"
rm -f "$db" "$db-wal" "$db-shm"
/usr/bin/time -v "$target/rates-cli" --database-url "$db" import-ecb "$csv" 2>"$work/time.txt" | tail -n 1
grep -E "Maximum resident set size|Elapsed \(wall clock\)" "$work/time.txt"

echo "== 10-day ingest, mock answering in 200 ms"
"$target/examples/ten_day_ingest" "$runs"
