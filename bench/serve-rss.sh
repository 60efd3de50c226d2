#!/usr/bin/env bash
# Resident memory of one LogitServer serving a plain deployment and a ULD deployment over the same base:
#   bench/serve-rss.sh BASE_DIR ASSISTANT_DIR [SERVER_DLL] [PORT]
# Prints RSS after start-up and after one 16-token completion on each deployment. Run it against two builds (e.g. a
# checkout before and after a change) one after the other to compare them; bench/results/serve-rss.md has a run.
set -euo pipefail
base=$1; assistant=$2
dll=${3:-src/apps/LogitServer/bin/Release/net10.0/uld-logitserver.dll}
port=${4:-18461}
dotnet "$dll" --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning \
  --LogitServer:Deployments:0:Name=plain --LogitServer:Deployments:0:Kind=Plain --LogitServer:Deployments:0:Model="$base" \
  --LogitServer:Deployments:1:Name=uld --LogitServer:Deployments:1:Kind=Uld \
  --LogitServer:Deployments:1:Base="$base" --LogitServer:Deployments:1:Assistant="$assistant" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.5; done
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
echo "started: $(rss) MiB"
for model in plain uld; do
  curl -sf "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
    -d "{\"model\":\"$model\",\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":0}" >/dev/null
done
echo "served: $(rss) MiB"
