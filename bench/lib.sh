# Sourced by the bench scripts: free loopback ports, waiting for a listener, a process's CPU ticks, the Release build
# check, and a gateway started on a fresh folder. The sourcing script defines the array pids (what it stops at exit).
bench_name=$(basename "$0" .sh)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 1 240); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.25; done; echo "$bench_name: nothing listens on $1" >&2; exit 1; }
stop_started() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; }  # by PID, at exit
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # user + system ticks (1/100 s)
require_built() { # files the script needs
  for f in "$@"; do
    [[ -f "$f" ]] || { echo "$bench_name: $f is missing (build with: dotnet build src/Dmp.Ingest.Worker -c Release; dotnet build bench/Dmp.LoadGen -c Release)" >&2; exit 66; }
  done
}
start_gateway() { # data folder (its log beside it, DIR.log), checkout whose Release gateway and mappings to run, more gateway arguments…
  # Sets gw_port (MLLP), gw_http and gw_pid. AckMode=Commit: an ACK once the frame is durably stored. The inbox gauges
  # (processing backlog, oldest waiting message) are refreshed every second instead of every 15.
  local dir=$1 repo=$2; shift 2
  gw_port=$(free_port); gw_http=$(free_port)
  mkdir -p "$dir"
  dotnet "$repo/src/Dmp.Ingest.Worker/bin/Release/net10.0/Dmp.Ingest.Worker.dll" --Dmp:DataDir="$dir" --Dmp:Rules:Path="$repo/mappings" \
    --Dmp:Mllp:Port="$gw_port" --Dmp:Http:Port="$gw_http" --Dmp:Mllp:AckMode=Commit \
    --Dmp:Alerts:EvaluateSeconds=1 "$@" >"$dir.log" 2>&1 &
  gw_pid=$!; pids+=("$gw_pid")
}
metric() { # name, optional label filter: the value of the first matching sample of the started gateway's /metrics
  curl -sf "http://127.0.0.1:$gw_http/metrics" | awk -v n="$1" -v l="${2:-}" '$1 ~ "^"n"({|$)" && index($1, l) { print $2; exit }'
}
drain() { # waits (at most 300 s) until the started gateway has processed everything it accepted; prints the seconds it took
  local start=$SECONDS zeros=0 waiting
  while (( SECONDS - start < 300 )); do
    waiting=$(metric dmp_inbox_messages 'status="accepted"' || true)
    if [[ "${waiting:-x}" == 0 ]]; then zeros=$((zeros + 1)); (( zeros >= 2 )) && { echo $((SECONDS - start)); return 0; }; else zeros=0; fi
    sleep 0.5
  done
  echo "$bench_name: the gateway still had ${waiting:-?} accepted messages after 300 s" >&2; exit 1
}
