#!/usr/bin/env bash
# Benchmarks Tollgate against node-oidc-provider with wrk. Options: --quick, --postgres URL,
# --duration S, --connections N, --no-build. Results: bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -d bench/peer/node_modules/oidc-provider ] || npm ci --no-audit --no-fund --prefix bench/peer
exec python3 bench/run.py "$@"
