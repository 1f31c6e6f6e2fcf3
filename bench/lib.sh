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
  # Sets gw_port (MLLP), gw_http and gw_pid. AckMode=Commit: an ACK once the frame is durably stored.
  local dir=$1 repo=$2; shift 2
  gw_port=$(free_port); gw_http=$(free_port)
  mkdir -p "$dir"
  dotnet "$repo/src/Dmp.Ingest.Worker/bin/Release/net10.0/Dmp.Ingest.Worker.dll" --Dmp:DataDir="$dir" --Dmp:Rules:Path="$repo/mappings" \
    --Dmp:Mllp:Port="$gw_port" --Dmp:Http:Port="$gw_http" --Dmp:Mllp:AckMode=Commit "$@" >"$dir.log" 2>&1 &
  gw_pid=$!; pids+=("$gw_pid")
}
