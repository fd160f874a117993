#!/usr/bin/env bash
# Runs jobs/demo.json against a local sluice-mock, end to end. Usage: scripts/demo.sh BIN_DIR
set -euo pipefail
bin="${1:-.build/debug}"
work="$(mktemp -d)"
mock_pid=""
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# A little latency and a few injected failures, so retries show in the summary.
"$bin/sluice-mock" --port 0 --port-file "$work/port" --latency-ms 20-80 --p500 0.05 --p429 0.03 --retry-after 0.5 \
    --failing-model gpt-4o-mini-broken >"$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "sluice-mock did not start:"; cat "$work/mock.log"; exit 1; }
port="$(cat "$work/port")"
echo "sluice-mock listening on http://127.0.0.1:$port/v1"

rm -f results/demo.*
status=0
"$bin/sluice" run jobs/demo.json --base-url "http://127.0.0.1:$port/v1" --progress-interval 1 || status=$?
echo
echo "Results: results/demo.results.jsonl ($(wc -l < results/demo.results.jsonl) lines), failures: results/demo.errors.jsonl"
echo "Checkpoint: results/demo.results.jsonl.sluice.db (run 'make demo' again to start over)"
head -c 400 results/demo.results.jsonl; echo " ..."
exit "$status"
