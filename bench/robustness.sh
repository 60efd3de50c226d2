#!/usr/bin/env bash
# Robustness probes (seed 003) on a finished TOFU-mini benchmark (bench/tofu-mini.sh): does forgotten knowledge come
# back after int8 / int4 weight quantization (simulated per row, and as the served MatMulNBits packages), or when the forget questions are reworded? Writes
# bench/results/robustness.md.
#
#   bench/robustness.sh [--work artifacts/tofu-mini] [--forget forget4]      ULD_RULE=SuppressOnly BASELINES="npo+gd ga+gd"
#   (the first test seed of each method of a bench/tofu-mini.sh run)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DATA="${DATA:-../shared/data/tofu}"
WORK=artifacts/tofu-mini
F=forget4
ALPHA="${ALPHA:-}"          # the ULD deployment's α; unset: the assistant's calibrated α (docs/METHODS.md, *α calibration*)
ULD_RULE="${ULD_RULE:-SuppressOnly}"
PORT="${PORT:-8192}"
REWORDING="I have a question about a writer. {0} Please answer in one or two sentences."
BASELINES="${BASELINES-npo+gd ga+gd}"
while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK="$2"; shift 2 ;;
    --forget) F="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$WORK/test/$F/uld/seed1/manifest.json" ] || { echo "no $WORK/test/$F/uld/seed1: run bench/tofu-mini.sh first" >&2; exit 2; }
BIN="${BIN:-$WORK/bin}"  # BIN=DIR runs other builds (Trainer/, LogitServer/, Eval/ copies of bin/Release/net10.0)
[ -f "$BIN/Trainer/uld-trainer.dll" ] || { echo "no $BIN: run bench/tofu-mini.sh first" >&2; exit 2; }

Q="$WORK/quantized"
for bits in 8 4; do
  for m in $BASELINES uld; do
    [ -f "$Q/$F-$m-int$bits/manifest.json" ] || trainer quantize -m "$WORK/test/$F/$m/seed1" --bits $bits -o "$Q/$F-$m-int$bits"
  done
  [ -f "$Q/target-int$bits/manifest.json" ] || trainer quantize -m "$WORK/target" --bits $bits -o "$Q/target-int$bits"
  # The served form: block-quantized MatMulNBits packages (the assistant keeps naming its base, renamed alongside).
  for m in $BASELINES; do
    [ -f "$Q/$F-$m-nbits$bits/manifest.json" ] || trainer package -m "$WORK/test/$F/$m/seed1" --weights int$bits -o "$Q/$F-$m-nbits$bits"
  done
  [ -f "$Q/target-nbits$bits/manifest.json" ] || trainer package -m "$WORK/target" --weights int$bits -o "$Q/target-nbits$bits"
  [ -f "$Q/$F-uld-nbits$bits/manifest.json" ] || trainer package -m "$WORK/test/$F/uld/seed1" --weights int$bits --base-name "target-nbits$bits" -o "$Q/$F-uld-nbits$bits"
done

i=0; args=(--urls "http://127.0.0.1:$PORT"); models=()
plain() { args+=(--LogitServer:Deployments:$i:Name="$1" --LogitServer:Deployments:$i:Kind=Plain --LogitServer:Deployments:$i:Model="$2"); models+=(-m "$1"); i=$((i + 1)); }
uld() {
  args+=(--LogitServer:Deployments:$i:Name="$1" --LogitServer:Deployments:$i:Kind=Uld --LogitServer:Deployments:$i:Base="$2"
    --LogitServer:Deployments:$i:Assistant="$3" --LogitServer:Deployments:$i:AlphaMin=0
    --LogitServer:Deployments:$i:AlphaMax=4 --LogitServer:Deployments:$i:RelativeTopDefault=0 --LogitServer:Deployments:$i:Rule="$ULD_RULE")
  [ -n "$ALPHA" ] && args+=(--LogitServer:Deployments:$i:AlphaDefault="$ALPHA")
  models+=(-m "$1"); i=$((i + 1))
}
plain retain "$WORK/retain-$F"
plain target "$WORK/target"
for m in $BASELINES; do
  plain "$m" "$WORK/test/$F/$m/seed1"; plain "$m-int8" "$Q/$F-$m-int8"; plain "$m-int4" "$Q/$F-$m-int4"
  plain "$m-nbits8" "$Q/$F-$m-nbits8"; plain "$m-nbits4" "$Q/$F-$m-nbits4"
done
uld uld "$WORK/target" "$WORK/test/$F/uld/seed1"
uld uld-int8 "$Q/target-int8" "$Q/$F-uld-int8"
uld uld-int4 "$Q/target-int4" "$Q/$F-uld-int4"
uld uld-nbits8 "$Q/target-nbits8" "$Q/$F-uld-nbits8"
uld uld-nbits4 "$Q/target-nbits4" "$Q/$F-uld-nbits4"

dotnet "$BIN/LogitServer/uld-logitserver.dll" "${args[@]}" > "$WORK/logitserver-robustness.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
common=(--url "http://127.0.0.1:$PORT" --data "$DATA" --forget "$F" --retain-model retain --max-questions 100 "${models[@]}")
evaluate tofu "${common[@]}" -o "$WORK/results/robustness-$F.json"
evaluate tofu "${common[@]}" --question-format "$REWORDING" -o "$WORK/results/robustness-$F-reworded.json"
kill -TERM $server; wait $server 2>/dev/null || true
trap - EXIT
evaluate robustness --as-written "$WORK/results/robustness-$F.json" --reworded "$WORK/results/robustness-$F-reworded.json" \
  --rewording "$REWORDING" -o bench/results/robustness.md
