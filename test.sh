#!/usr/bin/env bash
# Installs what the tests need (only what is missing), builds once, runs every test project one
# after another, and ends with one line: "N passed, N failed, N skipped" (totals from TRX results).
# Usage: ./test.sh [--fast] [--long] [--sqlserver]
#   (no flag)  every test: what CI runs (.ci/run).
#   --fast     the in-process tier only, for a developer's inner loop: parser, mapping, golden files, the store
#              on SQLite, the HTTP API on an in-process gateway. Leaves out the classes marked
#              [Trait("Tier", "Slow")]: real PostgreSQL, sshd, Azurite and npm peers, gateways started as
#              processes, kill -9, fuzzing, load and 1,000 idle connections. Installs nothing (no apt, no npm).
#   --long     also runs the long reliability set (DMP_TEST_LONG=1).
#   --sqlserver also runs the store's provider suites on the SQL Server named by DMP_TEST_SQLSERVER (a connection string
#              whose login may create databases); without it they are left out (trait Provider=SqlServer): no SQL
#              Server can be installed here, and CI does not run them.
set -uo pipefail
cd "$(dirname "$0")"

fast=0
sqlserver=0
for arg in "$@"; do
  case "$arg" in
    --fast) fast=1 ;;
    --long) export DMP_TEST_LONG=1 ;;
    --sqlserver) sqlserver=1 ;;
    *) echo "test.sh: unknown option $arg (usage: ./test.sh [--fast] [--long] [--sqlserver])" >&2; echo "0 passed, 1 failed"; exit 2 ;;
  esac
done
if (( sqlserver == 1 )) && [[ -z "${DMP_TEST_SQLSERVER:-}" ]]; then
  echo "test.sh: --sqlserver needs DMP_TEST_SQLSERVER=\"Server=host,1433;User ID=…;Password=…;TrustServerCertificate=True\" (a login that may create databases)" >&2
  echo "0 passed, 1 failed"; exit 2
fi
(( sqlserver == 0 )) && echo "test.sh: SQL Server is not exercised (its provider tests run with DMP_TEST_SQLSERVER=<connection string> ./test.sh --sqlserver)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# Tests never watch configuration files (the machine allows 128 inotify instances per user).
export DOTNET_hostBuilder__reloadConfigOnChange=false

# ---- prerequisites -------------------------------------------------------------------------------
# The fast tier starts no server and no peer, so it needs nothing beyond the .NET SDK.
if (( fast == 0 )); then
  source ./scripts/prerequisites.sh
  install_prerequisites || { echo "test.sh: installing prerequisites failed" >&2; echo "0 passed, 1 failed"; exit 1; }
fi

# ---- build once ----------------------------------------------------------------------------------
if ! dotnet build Dmp.Ingest.sln -c Release -nologo -clp:ErrorsOnly; then
  echo "test.sh: build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# ---- run each test project in turn ---------------------------------------------------------------
results="$(pwd)/TestResults"
rm -rf "$results"; mkdir -p "$results"
# The SQL Server provider suites (trait Provider=SqlServer) run only with --sqlserver.
if (( sqlserver == 1 )); then
  filter=()
  (( fast == 1 )) && filter=(--filter "Tier!=Slow|Provider=SqlServer")
else
  filter=(--filter "Provider!=SqlServer")
  (( fast == 1 )) && filter=(--filter "Tier!=Slow&Provider!=SqlServer")
fi
status=0
for proj in tests/*/*.Tests.csproj; do
  name="$(basename "$proj" .csproj)"
  echo "=== $name"
  dotnet test "$proj" -c Release --no-build --nologo "${filter[@]}" \
    --logger "trx;LogFileName=$results/$name.trx" --logger "console;verbosity=minimal" \
    -- RunConfiguration.TestSessionTimeout=1500000 || status=1
done

# ---- totals --------------------------------------------------------------------------------------
passed=0; failed=0; skipped=0; total=0
for trx in "$results"/*.trx; do
  [[ -f "$trx" ]] || continue
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  t=$(get total); p=$(get passed); f=$(get failed); e=$(get error); x=$(get executed)
  total=$((total + ${t:-0})); passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
  skipped=$((skipped + ${t:-0} - ${x:-0}))
done
projects=$(ls tests/*/*.Tests.csproj | wc -l); reports=$(ls "$results"/*.trx 2>/dev/null | wc -l)
if (( reports < projects )); then
  echo "test.sh: $((projects - reports)) test project(s) produced no results (crashed or did not build)" >&2
  status=1
  (( failed == 0 )) && failed=1
fi
(( failed > 0 )) && status=1
if (( total == 0 )); then echo "test.sh: no test ran" >&2; status=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
