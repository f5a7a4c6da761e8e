#!/usr/bin/env bash
# Screenshots of the overview page at desktop (1280 px) and phone (390 px) widths, taken by the
# browser test `page::browser_screenshots_at_desktop_and_phone_widths` in headless chromium over
# the test data (ECB rates to 2026-10-30), copied to docs/ for the README.
# Needs Debian's chromium and chromium-driver (installed here when missing, as .ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium chromium-driver
fi

RATES_TEST_REQUIRE_BROWSER=1 cargo test -p rates-api --all-features --test it -- \
    --exact page::browser_screenshots_at_desktop_and_phone_widths
target_dir="$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
for name in page-desktop.png page-phone.png; do
    cp "$target_dir/tmp/$name" "docs/$name"
    echo "docs/$name"
done
