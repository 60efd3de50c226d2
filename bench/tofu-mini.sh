#!/usr/bin/env bash
# TOFU-mini benchmark: from ../shared/data/tofu, builds the tokenizer, the target, a retain model per forget set, the
# ULD assistant and every gradient baseline; serves them with LogitServer; evaluates them through the API with
# uld-eval (forget quality, model utility, ROUGE-L, α sweep); writes bench/results/tofu-mini.md and the α plot.
#
#   bench/tofu-mini.sh [--forget "forget4 forget2 forget1"] [--work artifacts/tofu-mini] [--methods "ga ga+gd ..."]
#
# Every step skips outputs that already exist, so an interrupted run continues where it stopped (delete a directory
# under --work to rebuild it). Timing on a 2-core machine: ~15 min for the target, ~7 min per retain model, a few
# minutes of unlearning and ~15 min of evaluation per forget set.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${DATA:-../shared/data/tofu}"
WORK=artifacts/tofu-mini
FORGET="forget4 forget2 forget1"
METHODS="ga ga+gd ga+kl npo npo+gd npo+kl dpo dpo+gd idk+gd flat-kl task-vector"
ALPHAS="0.1 0.2 0.3 0.5 0.75 1 1.5"  # must include ALPHA_DEFAULT: the ULD row of the table
ALPHA_DEFAULT="${ALPHA_DEFAULT:-0.3}"
PORT="${PORT:-8190}"
while [ $# -gt 0 ]; do
  case "$1" in
    --forget) FORGET="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --methods) METHODS="$2"; shift 2 ;;
    --alphas) ALPHAS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$DATA/full.json" ] || { echo "no TOFU data at $DATA (set DATA=...)" >&2; exit 2; }

echo "==> building (Release)"
dotnet build UldServer.sln -c Release -v quiet -nologo >/dev/null
# Run from a copy so that rebuilding while a long run is going cannot swap assemblies under it.
BIN="$WORK/bin"
rm -rf "$BIN" && mkdir -p "$BIN"
for p in AssistantTrainer LogitServer Evaluation; do cp -r "src/$p/bin/Release/net10.0" "$BIN/$p"; done
trainer() { dotnet "$BIN/AssistantTrainer/uld-trainer.dll" "$@"; }
evaluate() { dotnet "$BIN/Evaluation/uld-eval.dll" "$@"; }

[ -f "$WORK/tokenizer/tokenizer.json" ] || trainer tokenizer train --corpus "$DATA/full.json" --vocab-size 1024 -o "$WORK/tokenizer"
[ -f "$WORK/target/manifest.json" ] || trainer train --data "$DATA" --tokenizer "$WORK/tokenizer" -o "$WORK/target"

for f in $FORGET; do
  [ -f "$WORK/retain-$f/manifest.json" ] || trainer train --data "$DATA" --tokenizer "$WORK/tokenizer" --role retain --forget "$f" -o "$WORK/retain-$f"
  [ -f "$WORK/$f/uld/manifest.json" ] || trainer unlearn --method uld --base "$WORK/target" --data "$DATA" --forget "$f" -o "$WORK/$f/uld"
  for m in $METHODS; do
    [ -f "$WORK/$f/$m/manifest.json" ] || trainer unlearn --method "$m" --base "$WORK/target" --data "$DATA" --forget "$f" -o "$WORK/$f/$m"
  done

  # One LogitServer with every model of this forget set. The ULD deployment allows any α in [0, 4] per request and
  # no relative-top filter: these small models memorise so hard that r = 0.1 keeps one token per step.
  args=(--urls "http://127.0.0.1:$PORT"
    --LogitServer:Deployments:0:Name=target --LogitServer:Deployments:0:Kind=Plain --LogitServer:Deployments:0:Model="$WORK/target"
    --LogitServer:Deployments:1:Name=retain --LogitServer:Deployments:1:Kind=Plain --LogitServer:Deployments:1:Model="$WORK/retain-$f"
    --LogitServer:Deployments:2:Name=uld --LogitServer:Deployments:2:Kind=Uld --LogitServer:Deployments:2:Base="$WORK/target"
    --LogitServer:Deployments:2:Assistant="$WORK/$f/uld" --LogitServer:Deployments:2:AlphaDefault="$ALPHA_DEFAULT"
    --LogitServer:Deployments:2:AlphaMin=0 --LogitServer:Deployments:2:AlphaMax=4 --LogitServer:Deployments:2:RelativeTopDefault=0)
  models=(-m target)
  i=3
  for m in $METHODS; do
    args+=(--LogitServer:Deployments:$i:Name="$m" --LogitServer:Deployments:$i:Kind=Plain --LogitServer:Deployments:$i:Model="$WORK/$f/$m")
    models+=(-m "$m"); i=$((i + 1))
  done
  for a in $ALPHAS; do models+=(-m "uld@$a"); done

  echo "==> serving $f on 127.0.0.1:$PORT"
  dotnet "$BIN/LogitServer/LogitServer.dll" "${args[@]}" > "$WORK/logitserver-$f.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
  evaluate tofu --url "http://127.0.0.1:$PORT" --data "$DATA" --forget "$f" --retain-model retain "${models[@]}" -o "$WORK/results/$f.json"
  kill -INT $server; wait $server 2>/dev/null || true
  trap - EXIT
done

evaluate report --work "$WORK" --alpha-default "$ALPHA_DEFAULT" -o bench/results/tofu-mini.md
