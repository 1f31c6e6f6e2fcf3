#!/usr/bin/env bash
# Soak: one Release gateway (SQLite, AckMode=Commit, processing running, a fresh folder) under a paced MLLP load, its
# memory and its processing lag sampled as the minutes pass. Every STEP seconds: the gateway's resident memory (VmRSS),
# its CPU seconds, and from its own /metrics the age of the oldest accepted (unprocessed) message and how many wait.
# At the end: LoadGen's JSON (nothing may be lost or NACKed) and the resident memory of the first and of the second sample
# (past the heap's first growth) against the last.
# Usage: bench/soak.sh [SECONDS] [RATE] [CONNECTIONS]   (default 600 s at 500 msgs/s over 8 connections)
# Env:   FILE  the message template (default tests/golden/pam-fr-a01-opposition.hl7)   STEP  seconds between samples (30)
#        WARMUP  seconds of the same paced load before the measured part (default 0: the JIT's first seconds count)
# Build first: dotnet build src/Dmp.Ingest.Worker -c Release; dotnet build bench/Dmp.LoadGen -c Release
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}; rate=${2:-500}; connections=${3:-8}; step=${STEP:-30}
gateway="$here/src/Dmp.Ingest.Worker/bin/Release/net10.0/Dmp.Ingest.Worker.dll"
loadgen="$here/bench/Dmp.LoadGen/bin/Release/net10.0/Dmp.LoadGen.dll"
file=${FILE:-$here/tests/golden/pam-fr-a01-opposition.hl7}
source "$here/bench/lib.sh"
require_built "$gateway" "$loadgen" "$file"

data=$(mktemp -d /tmp/dmp-soak.XXXXXX)
pids=()
cleanup() {
  stop_started
  rm -rf "$data"
}
trap cleanup EXIT
start_gateway "$data/gw" "$here"
gw=$gw_pid; mllp=$gw_port
wait_port "$mllp"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

if (( ${WARMUP:-0} > 0 )); then
  dotnet "$loadgen" --port "$mllp" --file "$file" --connections "$connections" --rate "$rate" --seconds "$WARMUP" >/dev/null 2>&1
fi
echo "soak $(date -u +%FT%TZ) load $(cut -d' ' -f1 /proc/loadavg) nproc $(nproc): ${seconds} s at ${rate}/s over ${connections} connections, $(basename "$file")${WARMUP:+ after ${WARMUP} s of warm-up}"
dotnet "$loadgen" --port "$mllp" --file "$file" --connections "$connections" --rate "$rate" --seconds "$seconds" >"$data/loadgen.out" 2>/dev/null &
lg=$!; pids+=("$lg")
printf '%8s %10s %8s %16s %10s\n' elapsed_s rss_mib cpu_s oldest_accepted_s accepted
first=""; second=""; last=""; worst=0; start=$(date +%s)
while kill -0 "$lg" 2>/dev/null; do
  sleep "$step"
  kill -0 "$gw" 2>/dev/null || { echo "soak: the gateway stopped (see its log)" >&2; tail -20 "$data/gw.log" >&2; exit 1; }
  rss=$(rss_kib "$gw"); age=$(metric dmp_inbox_oldest_accepted_age_seconds || true); waiting=$(metric dmp_inbox_messages 'status="accepted"' || true)
  printf '%8d %10.1f %8s %16s %10s\n' $(( $(date +%s) - start )) "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(awk -v t="$(cpu_ticks "$gw")" 'BEGIN { printf "%.1f", t / 100 }')" "${age:--}" "${waiting:--}"
  if [[ -z "$first" ]]; then first=$rss; elif [[ -z "$second" ]]; then second=$rss; fi
  last=$rss
  [[ -n "$age" ]] && worst=$(awk -v a="$age" -v w="$worst" 'BEGIN { print (a > w ? a : w) }')
done
wait "$lg" || true
echo "soak loadgen $(tail -1 "$data/loadgen.out")"
deferrals=$(metric dmp_processing_deferrals_total || true)   # not exported before the first wait
awk -v f="$first" -v s="${second:-$first}" -v l="$last" -v w="$worst" -v d="${deferrals:-0}" 'BEGIN { printf "soak rss first sample %.1f MiB, second %.1f MiB, last %.1f MiB (%+.1f %% from the first, %+.1f %% from the second); oldest accepted message at most %s s; processing waited for a burst %s time(s)\n", f / 1024, s / 1024, l / 1024, (f > 0 ? (l - f) * 100 / f : 0), (s > 0 ? (l - s) * 100 / s : 0), w, d }'
