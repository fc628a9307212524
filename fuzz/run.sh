#!/usr/bin/env bash
# Builds every fuzz target and runs each for a while, one after another.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     SECONDS per target, default 60; default all targets
#
# Needs the nightly toolchain; installs cargo-fuzz if it is missing. New inputs go to
# fuzz/target/run-corpus/<target> (ignored by git), so the committed fuzz/corpus stays as it is;
# crashes go to fuzz/artifacts/<target>. Exits non-zero if any target crashed.
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-60}"
[ "$#" -gt 0 ] && shift
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build
mkdir -p target/run-logs
failed=()
for t in "${targets[@]}"; do
    mkdir -p "target/run-corpus/$t" "corpus/$t"
    log="target/run-logs/$t.log"
    echo "== $t: ${secs}s"
    if cargo +nightly fuzz run "$t" "target/run-corpus/$t" "corpus/$t" -- \
        -max_total_time="$secs" >"$log" 2>&1; then
        result=ok
    else
        result=CRASH
        failed+=("$t")
    fi
    stats=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    done_line=$(grep -E '^Done [0-9]+ runs' "$log" || true)
    echo "   $result; ${done_line:-no Done line}; last: ${stats:-none} (log: fuzz/$log)"
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "all ${#targets[@]} targets ran ${secs}s each without a crash"
