#!/usr/bin/env bash
# Bulk loads of the ECB history by `rates-cli import-ecb`, side by side with each database's own
# loader given the very same rows, in one run on this machine:
#
#   SQLite:     `sqlite3 .import` of the rows into the same WITHOUT ROWID `rates` table
#   PostgreSQL: `psql \copy` of the rows into the same `rates` table (same primary key)
#
# and, for each backend, an unchanged re-import and a re-import where 1% of the values changed
# (every 100th rate of the file, so each must leave one revision). The four commands of a backend
# are timed by hyperfine in RUNS rounds of one run each, A B C D A B C D ..., so that the load of
# the shared machine falls on all of them alike; prints the medians over the rounds, the ratios,
# peak memory (GNU time) and checks the revision count.
#
#   scripts/bench-bulk.sh PATH/TO/eurofxref-hist.csv [RUNS]          (default 10 runs each)
#
# Environment: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432), a server where
# this script may create and drop its own databases (named rates_bench_<pid>_*), connecting
# through the database BENCH_POSTGRES_ADMIN_DB (default `test`) to do so. BENCH_SKIP_POSTGRES=1
# measures SQLite only. Installs hyperfine, GNU time, sqlite3 and psql with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

csv="${1:?usage: scripts/bench-bulk.sh PATH/TO/eurofxref-hist.csv [RUNS]}"
runs="${2:-10}"
csv="$(realpath "$csv")"
pg_server="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
pg_admin="$pg_server/${BENCH_POSTGRES_ADMIN_DB:-test}"
skip_pg="${BENCH_SKIP_POSTGRES:-0}"
repo="$(pwd)"

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release -q -p rates-cli
cli="$(realpath "${CARGO_TARGET_DIR:-target}")/release/rates-cli"

work="$(mktemp -d)"
prefix="rates_bench_$$"
pg_dbs=("${prefix}_ours" "${prefix}_copy" "${prefix}_loaded" "${prefix}_changed")
cleanup() {
    if [ "$skip_pg" != 1 ]; then
        for db in "${pg_dbs[@]}"; do
            psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
# Settings come from the flags only: no config/ or .env from the repository.
cd "$work"

# The rates table exactly as the migrations create it.
sqlite_table="$(sed -n '/^CREATE TABLE rates (/,/^) WITHOUT ROWID;/p' "$repo"/migrations/sqlite/*_create_rates/up.sql)"
pg_table="$(sed -n '/^CREATE TABLE rates (/,/^);/p' "$repo"/migrations/postgres/*_create_rates/up.sql)"

# The same CSV with every 100th rate changed (a digit appended), and how many that is.
awk -F, -v OFS=, 'NR == 1 { print; next }
    { for (i = 2; i <= NF; i++) if ($i != "" && $i != "N/A" && ++n % 100 == 0) { $i = $i "1"; c++ } print }
    END { print c > "/dev/stderr" }' "$csv" >changed.csv 2>changed.count
changed="$(cat changed.count)"

# The rows as stored, for the databases' own loaders: one reference import, exported in key order.
"$cli" --database-url reference.db import-ecb "$csv" >/dev/null
sqlite3 -csv reference.db \
    "SELECT date, base, currency, rate, source, first_stored_at, last_changed_at FROM rates ORDER BY 1, 2, 3" >rows.csv
rows="$(wc -l <rows.csv)"
printf '%s\n.mode csv\n.import %s rates\n' "$sqlite_table" "$work/rows.csv" >sqlite-import.sql
printf '%s\n\\copy rates FROM %s WITH (FORMAT csv)\n' "$pg_table" "'$work/rows.csv'" >pg-copy.sql
sqlite3 reference.db ".backup loaded.db"
echo "== $(basename "$csv"): $rows rates; $changed changed in changed.csv"

# Runs hyperfine once per round with all its arguments; the rounds' JSON go to PREFIX-N.json.
rounds() { # prefix hyperfine-arguments...
    local prefix="$1" round
    shift
    for round in $(seq 1 "$runs"); do
        echo "-- round $round of $runs" >&2
        hyperfine --runs 1 --style basic --export-json "$prefix-$round.json" "$@" >/dev/null
    done
    jq -s '{results: [range(0; .[0].results | length) as $i
        | [.[].results[$i].times[0]] | sort
        | {median: (if length % 2 == 1 then .[length / 2 | floor]
                    else (.[length / 2 - 1] + .[length / 2]) / 2 end)}]}' \
        "$prefix"-[0-9]*.json >"$prefix.json"
}
median() { jq -r ".results[$2].median" "$1"; }
ratio() { printf "%.2f" "$(echo "scale=4; $1 / $2" | bc)"; }
peak_rss() { # command... -> peak RSS in MB
    /usr/bin/time -f '%M' -o rss.txt "$@" >/dev/null
    echo "scale=1; $(cat rss.txt) / 1024" | bc
}
report() { # json backend tool-name
    local first unchanged changed_run tool
    first="$(median "$1" 0)"; unchanged="$(median "$1" 1)"
    changed_run="$(median "$1" 2)"; tool="$(median "$1" 3)"
    printf '| %s | fresh import | %.3f s | %s %.3f s | %s x |\n' "$2" "$first" "$3" "$tool" "$(ratio "$first" "$tool")"
    printf '| %s | unchanged re-import | %.3f s | first import %.3f s | %s x |\n' "$2" "$unchanged" "$first" "$(ratio "$unchanged" "$first")"
    printf '| %s | re-import, 1%% changed | %.3f s | first import %.3f s | %s x |\n' "$2" "$changed_run" "$first" "$(ratio "$changed_run" "$first")"
}
revisions_sqlite() { sqlite3 "$1" "SELECT count(*) FROM rate_revisions"; }

echo "== SQLite"
"$cli" --database-url warmup.db import-ecb "$csv" >/dev/null # page cache and binary warm
rounds sqlite \
    --prepare "rm -f ours.db ours.db-wal ours.db-shm" \
    --prepare "true" \
    --prepare "rm -f changed.db*; cp loaded.db changed.db" \
    --prepare "rm -f theirs.db theirs.db-journal" \
    -n "import-ecb, fresh file" "'$cli' --database-url ours.db import-ecb '$csv'" \
    -n "import-ecb, unchanged re-import" "'$cli' --database-url loaded.db import-ecb '$csv'" \
    -n "import-ecb, 1% changed" "'$cli' --database-url changed.db import-ecb changed.csv" \
    -n "sqlite3 .import" "sqlite3 theirs.db '.read sqlite-import.sql'"
[ "$(sqlite3 theirs.db 'SELECT count(*) FROM rates')" = "$rows" ] || { echo "sqlite3 .import lost rows" >&2; exit 1; }
[ "$(revisions_sqlite changed.db)" = "$changed" ] || { echo "expected $changed revisions, found $(revisions_sqlite changed.db)" >&2; exit 1; }
[ "$(revisions_sqlite loaded.db)" = 0 ] || { echo "the unchanged re-import kept revisions" >&2; exit 1; }
rm -f ours.db*; rss_sqlite_fresh="$(peak_rss "$cli" --database-url ours.db import-ecb "$csv")"
rss_sqlite_again="$(peak_rss "$cli" --database-url ours.db import-ecb "$csv")"
rm -f changed.db*; cp loaded.db changed.db
rss_sqlite_changed="$(peak_rss "$cli" --database-url changed.db import-ecb changed.csv)"

if [ "$skip_pg" != 1 ]; then
    echo "== PostgreSQL"
    ours="${prefix}_ours" copy="${prefix}_copy" loaded="${prefix}_loaded" changed_db="${prefix}_changed"
    recreate() { # database [template]
        psql -q "$pg_admin" -c "SET client_min_messages = warning" \
            -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
            -c "CREATE DATABASE $1${2:+ TEMPLATE $2}" >/dev/null
    }
    recreate "$loaded"
    "$cli" --database-url "$pg_server/$loaded" import-ecb "$csv" >/dev/null
    rounds pg \
        --prepare "psql -q '$pg_admin' -c 'DROP DATABASE IF EXISTS $ours WITH (FORCE)' -c 'CREATE DATABASE $ours' >/dev/null" \
        --prepare "true" \
        --prepare "psql -q '$pg_admin' -c 'DROP DATABASE IF EXISTS $changed_db WITH (FORCE)' -c 'CREATE DATABASE $changed_db TEMPLATE $loaded' >/dev/null" \
        --prepare "psql -q '$pg_admin' -c 'DROP DATABASE IF EXISTS $copy WITH (FORCE)' -c 'CREATE DATABASE $copy' >/dev/null" \
        -n "import-ecb, fresh database" "'$cli' --database-url '$pg_server/$ours' import-ecb '$csv'" \
        -n "import-ecb, unchanged re-import" "'$cli' --database-url '$pg_server/$loaded' import-ecb '$csv'" \
        -n "import-ecb, 1% changed" "'$cli' --database-url '$pg_server/$changed_db' import-ecb changed.csv" \
        -n "psql \\copy" "psql -q -v ON_ERROR_STOP=1 '$pg_server/$copy' -f pg-copy.sql"
    count_pg() { psql -Atq "$pg_server/$1" -c "SELECT count(*) FROM $2"; }
    [ "$(count_pg "$copy" rates)" = "$rows" ] || { echo "psql \\copy lost rows" >&2; exit 1; }
    [ "$(count_pg "$changed_db" rate_revisions)" = "$changed" ] || { echo "expected $changed revisions on PostgreSQL" >&2; exit 1; }
    [ "$(count_pg "$loaded" rate_revisions)" = 0 ] || { echo "the unchanged re-import kept revisions" >&2; exit 1; }
    recreate "$ours"; rss_pg_fresh="$(peak_rss "$cli" --database-url "$pg_server/$ours" import-ecb "$csv")"
    rss_pg_again="$(peak_rss "$cli" --database-url "$pg_server/$ours" import-ecb "$csv")"
    recreate "$changed_db" "$loaded"
    rss_pg_changed="$(peak_rss "$cli" --database-url "$pg_server/$changed_db" import-ecb changed.csv)"
fi

echo
echo "| backend | load | rates-cli import-ecb (median) | compared with (median) | ratio |"
echo "|---|---|---|---|---|"
report sqlite.json SQLite "sqlite3 .import"
[ "$skip_pg" != 1 ] && report pg.json PostgreSQL "psql \\copy"
echo
echo "Peak RSS (MB), fresh / unchanged / 1% changed: SQLite $rss_sqlite_fresh / $rss_sqlite_again / $rss_sqlite_changed${rss_pg_fresh:+; PostgreSQL $rss_pg_fresh / $rss_pg_again / $rss_pg_changed}"
echo "Revisions after the 1% re-import: $changed on each backend (checked)"
