#!/usr/bin/env bash
# One MLLP measurement round against a gateway built in Release: a fresh data folder, the disk probes on it, a
# 15 s warm-up (until the JIT is done), then 1 connection, 8 connections and 8 connections paced at 1,000/s, each
# for RUN_SECONDS, with the gateway's CPU seconds per run; a last fsync probe. Loopback only; stops what it started.
# Usage: bench/mllp-run.sh [REPO] [LABEL]     REPO: a checkout whose gateway and LoadGen are built in Release (default .)
# Env:   FILE  the message template (default: the corpus ADT)   RUN_SECONDS  per run (default 8)
set -euo pipefail
repo=$(cd "${1:-.}" && pwd); label=${2:-run}
here=$(cd "$(dirname "$0")/.." && pwd)
gateway="$repo/src/Dmp.Ingest.Worker/bin/Release/net10.0/Dmp.Ingest.Worker.dll"
loadgen="$here/bench/Dmp.LoadGen/bin/Release/net10.0/Dmp.LoadGen.dll"
file=${FILE:-$here/tests/Dmp.Mapping.Tests/TestData/hl7v2/fhirconv_ADT-A01-01.hl7}
seconds=${RUN_SECONDS:-8}
for f in "$gateway" "$loadgen" "$file"; do
  [[ -f "$f" ]] || { echo "mllp-run: $f is missing (build with: dotnet build Dmp.Ingest.sln -c Release)" >&2; exit 66; }
done
data=$(mktemp -d /tmp/dmp-mllp-run.XXXXXX)
mllp=$((42000 + RANDOM % 1000)); http=$((mllp + 1000))
dotnet "$gateway" --Dmp:DataDir="$data" --Dmp:Rules:Path="$repo/mappings" --Dmp:Mllp:Port=$mllp --Dmp:Http:Port=$http >"$data/gateway.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do (echo >/dev/tcp/127.0.0.1/$mllp) 2>/dev/null && break; sleep 0.5; done
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }   # user + system ticks (1/100 s)
lg() { dotnet "$loadgen" "$@" 2>/dev/null | tail -1; }
echo "$label $(date -u +%FT%TZ) load $(cut -d' ' -f1 /proc/loadavg) file $(basename "$file") $(stat -c %s "$file") B"
lg fsync --dir "$data" --seconds 3
lg fsync --dir "$data" --seconds 3 --sqlite --bytes "$(stat -c %s "$file")"
lg --host 127.0.0.1 --port $mllp --file "$file" --connections 1 --seconds 15 >/dev/null
for run in "1" "8" "8 --rate 1000"; do
  set -- $run
  before=$(cpu)
  result=$(lg --host 127.0.0.1 --port $mllp --file "$file" --seconds "$seconds" --connections "$@")
  echo "$label connections=$* $result gateway_cpu_s=$(awk -v a="$before" -v b="$(cpu)" 'BEGIN { printf "%.2f", (b - a) / 100 }')"
done
lg fsync --dir "$data" --seconds 3
