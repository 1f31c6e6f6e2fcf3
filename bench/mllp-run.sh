#!/usr/bin/env bash
# One MLLP round, reference and gateway in the same minutes: the bare group-commit reference server
# (`Dmp.LoadGen reference-server`: frames appended to a file, one fsync per group, then the ACKs) and the Release
# gateway (SQLite, AckMode=Commit, processing running; with PG=1 a second gateway on a throw-away local PostgreSQL),
# each on free loopback ports and a fresh folder. The gateways run one at a time (a gateway left running would go on
# processing its backlog while the next is measured); each is warmed up, then measured at 1 and at 8 connections, each
# time right after the reference at the same count, so that a ratio compares the same minute, and only once the
# gateway has processed the backlog of its previous run (the seconds that took are printed: processing catching up).
# Prints LoadGen's JSON per run (with the target's CPU seconds) and the ratios gateway ÷ reference. Stops what it
# started, by PID.
# Usage: bench/mllp-run.sh [REPO] [LABEL]   REPO: a checkout whose gateway and LoadGen are built in Release (default .)
# Env:   FILE     the message template (default: tests/golden/pam-fr-a01-opposition.hl7, a 1.3 KB PAM France A01 with an INS)
#        RUN_SECONDS  per measured run (default 8)   WARMUP_SECONDS  per target (default 8; the gateway then warms up
#                 further until its JIT has settled)
#        PG=1     also a gateway on PostgreSQL (needs the postgresql server binaries; run as root or as postgres)
#        PG_OPTIONS  more server settings, e.g. "-c log_statement=all -c log_line_prefix='%m [%p] '" with KEEP=1 for bench/pg-tx-spans.py
#        PACED=1  also 8 connections paced at 1,000/s on each gateway
#        FROM=DIR the SQLite gateway starts on a copy of DIR (a store filled by `Dmp.Bench seed`) instead of an empty folder
#        GATEWAY_ARGS  more gateway settings for every gateway, e.g. "--Dmp:Processing:DeferAbovePerSecond=0" (processing
#                 alongside the burst instead of after it)
#        KEEP=1   keep the data folder (gateway logs, PostgreSQL log) instead of deleting it
set -euo pipefail
repo=$(cd "${1:-.}" && pwd); label=${2:-run}
here=$(cd "$(dirname "$0")/.." && pwd)
gateway="$repo/src/Dmp.Ingest.Worker/bin/Release/net10.0/Dmp.Ingest.Worker.dll"
loadgen="$here/bench/Dmp.LoadGen/bin/Release/net10.0/Dmp.LoadGen.dll"
file=${FILE:-$here/tests/golden/pam-fr-a01-opposition.hl7}
seconds=${RUN_SECONDS:-8}; warmup=${WARMUP_SECONDS:-8}
source "$here/bench/lib.sh"
require_built "$gateway" "$loadgen" "$file"

data=$(mktemp -d /tmp/dmp-mllp-run.XXXXXX)
pids=(); pg_bin=""; pg_data=""
cleanup() {
  stop_started
  if [[ -n "$pg_data" ]]; then as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true; fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "mllp-run: kept $data" >&2; else rm -rf "$data"; fi
}
trap cleanup EXIT
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
lg() { dotnet "$loadgen" "$@" 2>/dev/null | tail -1; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# The reference server.
ref_port=$(free_port)
mkdir -p "$data/reference"
dotnet "$loadgen" reference-server --port "$ref_port" --dir "$data/reference" >"$data/reference.log" 2>&1 &
ref_pid=$!; pids+=("$ref_pid")

start_postgres_gateway() { # a throw-away local PostgreSQL 15+, then a gateway on it
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -x "$pg_bin/initdb" ]] || { echo "mllp-run: PG=1 needs the PostgreSQL server binaries (initdb, pg_ctl)" >&2; exit 66; }
  pg_data="$data/pg/data"; mkdir -p "$data/pg"; chmod 711 "$data"; [[ $(id -u) == 0 ]] && chown -R postgres "$data/pg"
  local pg_port; pg_port=$(free_port)
  as_pg "$pg_bin/initdb" -D "$pg_data" --auth=trust --no-sync -U postgres -E UTF8 >/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -w -t 60 -l "$data/pg/pg.log" \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $data/pg -c fsync=on -c max_connections=100 ${PG_OPTIONS:-}" start >/dev/null
  as_pg "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE dmp" >/dev/null
  start_gateway "$data/postgres" "$repo" --Dmp:Store:Provider=Postgres \
    --Dmp:Store:ConnectionString="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=dmp;Maximum Pool Size=20" ${GATEWAY_ARGS:-}
}

declare -A rate p99
measure() { # target name, its port, its pid, connections, [more LoadGen arguments]
  local t=$1 p=$2 id=$3 c=$4; shift 4
  local before result used
  before=$(cpu_ticks "$id")
  result=$(lg --port "$p" --file "$file" --seconds "$seconds" --connections "$c" "$@")
  used=$(awk -v a="$before" -v b="$(cpu_ticks "$id")" 'BEGIN { printf "%.2f", (b - a) / 100 }')
  echo "$label $t connections=$c${*:+ $*} $result cpu_s=$used"
  rate[$t,$c]=$(field "$result" acked_per_s); p99[$t,$c]=$(field "$result" p99_ms)
}

gateways=(sqlite)
[[ "${PG:-0}" == 1 ]] && gateways+=(postgres)
wait_port "$ref_port"
echo "$label $(date -u +%FT%TZ) load $(cut -d' ' -f1 /proc/loadavg) nproc $(nproc) file $(basename "$file") $(stat -c %s "$file") B, ${seconds} s per run"
lg fsync --dir "$data" --seconds 2
lg --port "$ref_port" --file "$file" --connections 8 --seconds "$warmup" >/dev/null
# One gateway at a time, so that no other gateway's processing backlog takes the CPU while it is measured; the
# reference is measured again just before it at each connection count, so that each ratio compares the same minute.
for g in "${gateways[@]}"; do
  if [[ $g == sqlite ]]; then
    if [[ -n "${FROM:-}" ]]; then mkdir -p "$data/sqlite"; cp -a "$FROM/." "$data/sqlite/"; fi
    # shellcheck disable=SC2086  # GATEWAY_ARGS: settings separated by spaces
    start_gateway "$data/sqlite" "$repo" ${GATEWAY_ARGS:-}
  else start_postgres_gateway; fi
  wait_port "$gw_port"
  lg --port "$gw_port" --file "$file" --connections 8 --seconds "$warmup" >/dev/null
  # Then 2-second rounds until the gateway's JIT has settled (under 50 ms of compiling in a round, at most 10 rounds):
  # tiered compilation still took a fifth of a core 5 s into the load, a cost the small reference server pays at once.
  rounds=0
  while (( rounds < 10 )); do
    jit0=$(metric dotnet_jit_compilation_time_seconds_total || true)
    lg --port "$gw_port" --file "$file" --connections 8 --seconds 2 >/dev/null
    rounds=$((rounds + 1))
    jit=$(awk -v a="$jit0" -v b="$(metric dotnet_jit_compilation_time_seconds_total || true)" 'BEGIN { printf "%.3f", b - a }')
    awk -v j="$jit" 'BEGIN { exit !(j < 0.05) }' && break
  done
  echo "$label $g warm-up: $warmup s, then $rounds round(s) of 2 s until the JIT settled (${jit} s of compiling in the last)"
  for c in 1 8; do
    # The backlog of the run before is processed first: a reference measured while the gateway still processes would
    # share the cores with it.
    waited=$(drain); echo "$label $g had processed its backlog $waited s after the run before"
    measure "reference@$g" "$ref_port" "$ref_pid" "$c"
    measure "$g" "$gw_port" "$gw_pid" "$c"
  done
  waited=$(drain); echo "$label $g had processed its backlog $waited s after the 8-connection run"
  if [[ "${PACED:-0}" == 1 ]]; then measure "$g-paced" "$gw_port" "$gw_pid" 8 --rate 1000; fi
  kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true
done
for g in "${gateways[@]}"; do
  for c in 1 8; do
    awk -v l="$label" -v t="$g" -v c="$c" -v g="${rate[$g,$c]}" -v r="${rate[reference@$g,$c]}" -v gp="${p99[$g,$c]}" -v rp="${p99[reference@$g,$c]}" \
      'BEGIN { printf "%s ratio %s/reference connections=%s %.2fx (%.1f / %.1f ACK/s; p99 %.2f ms vs %.2f ms)\n", l, t, c, (r > 0 ? g / r : 0), g, r, gp, rp }'
  done
done
