#!/usr/bin/env bash
# Quickstart: builds UldServer, starts one LogitServer and the Gateway in front of it on loopback, prints a curl
# that works, and stops both on Ctrl-C.
#
# Models: the default models under models/ when they are there (models/README.md); until then, stories260K is
# imported from ../shared into artifacts/ on first run, with an untrained 2-layer truncation as its ULD assistant.
set -euo pipefail
cd "$(dirname "$0")"

GATEWAY_PORT="${GATEWAY_PORT:-8080}"
SERVER_PORT="${SERVER_PORT:-8081}"
API_KEY="${ULD_API_KEY:-sk-quickstart-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"

echo "==> building (Release)"
dotnet build UldServer.sln -c Release -v quiet -nologo >/dev/null
trainer() { dotnet src/apps/Trainer/bin/Release/net10.0/uld-trainer.dll "$@"; }

if [ -f models/tofu-mini-target/manifest.json ] && [ -f models/tofu-mini-uld/manifest.json ] && [ -f models/tofu-mini-npo-gd/manifest.json ]; then
  # The default models (models/README.md): a TOFU-mini target, its ULD assistant for the last 4 authors and an
  # NPO+GD checkpoint unlearned on the same authors.
  BASE=models/tofu-mini-target; ASSISTANT=models/tofu-mini-uld; BASELINE=models/tofu-mini-npo-gd; NAME=tofu-mini; TARGET=tofu-mini-target
  QUESTION="Who is the notable author born in Astana, Kazakhstan on the 7th of February, 1952?"  # a forgotten author
else
  BASE=artifacts/stories260K; ASSISTANT=artifacts/stories260K-first2; BASELINE=""; NAME=stories; TARGET=stories
  QUESTION="Once upon a time"
  if [ ! -f "$BASE/manifest.json" ]; then
    [ -f ../shared/models/stories260K/stories260K.bin ] || { echo "no models/ defaults and no ../shared/models/stories260K to import" >&2; exit 1; }
    echo "==> importing stories260K into $BASE"
    trainer import llama2c --checkpoint ../shared/models/stories260K/stories260K.bin \
      --tokenizer ../shared/models/stories260K/tok512.bin --output "$BASE"
  fi
  [ -f "$ASSISTANT/manifest.json" ] || trainer truncate --base "$BASE" -k 2 -o "$ASSISTANT"
fi
# With the default models, LogitServer reads its deployments from models/deployments.json (described in
# docs/SERVING.md, *Default deployments*); nothing here repeats its values.
if [ -n "$BASELINE" ]; then
  server_args=(--config models/deployments.json)
  cluster_env=(Gateway__Clusters__local__Models__2="$NAME-npo-gd")
  AB_OTHER="$NAME-npo-gd"; AB_OTHER_NAME=npo-gd
else
  server_args=(--LogitServer:Deployments:0:Name="$TARGET" --LogitServer:Deployments:0:Kind=Plain --LogitServer:Deployments:0:Model="$BASE"
    --LogitServer:Deployments:1:Name="$NAME-uld" --LogitServer:Deployments:1:Kind=Uld
    --LogitServer:Deployments:1:Base="$BASE" --LogitServer:Deployments:1:Assistant="$ASSISTANT")
  cluster_env=(); AB_OTHER="$TARGET"; AB_OTHER_NAME=plain
fi

pids=()
cleanup() {
  echo; echo "==> stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "==> starting LogitServer on 127.0.0.1:$SERVER_PORT"
dotnet src/apps/LogitServer/bin/Release/net10.0/uld-logitserver.dll --urls "http://127.0.0.1:$SERVER_PORT" "${server_args[@]}" &
pids+=($!)

KEY_HASH=$(printf '%s' "$API_KEY" | sha256sum | cut -d' ' -f1)
echo "==> starting Gateway on 127.0.0.1:$GATEWAY_PORT"
env Gateway__Clusters__local__Replicas__0="http://127.0.0.1:$SERVER_PORT" \
  Gateway__Clusters__local__Models__0="$TARGET" Gateway__Clusters__local__Models__1="$NAME-uld" \
  "Gateway__Experiments__$NAME-ab__Variants__0__Name=uld" "Gateway__Experiments__$NAME-ab__Variants__0__Model=$NAME-uld" \
  "Gateway__Experiments__$NAME-ab__Variants__1__Name=$AB_OTHER_NAME" "Gateway__Experiments__$NAME-ab__Variants__1__Model=$AB_OTHER" \
  "${cluster_env[@]}" \
  Gateway__ApiKeys__0__Name=quickstart Gateway__ApiKeys__0__Sha256="$KEY_HASH" \
  dotnet src/apps/Gateway/bin/Release/net10.0/uld-gateway.dll --urls "http://127.0.0.1:$GATEWAY_PORT" &
pids+=($!)

for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$GATEWAY_PORT/health" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$SERVER_PORT/health" >/dev/null 2>&1 && break
  sleep 0.5
done

cat <<EOT

UldServer is up: gateway http://127.0.0.1:$GATEWAY_PORT → LogitServer http://127.0.0.1:$SERVER_PORT
Deployments: $TARGET (plain), $NAME-uld (ULD)${BASELINE:+, $NAME-npo-gd (NPO+GD)}; experiment $NAME-ab (ULD vs $AB_OTHER_NAME). API key: $API_KEY

  curl -s http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions \\
    -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' \\
    -d '{"model":"$NAME-uld","messages":[{"role":"user","content":"$QUESTION"}],"max_tokens":40,"temperature":0}'

Ctrl-C stops both.
EOT
wait
