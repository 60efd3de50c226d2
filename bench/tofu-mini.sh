#!/usr/bin/env bash
# TOFU-mini benchmark: from ../shared/data/tofu, builds the tokenizer, the target, a retain model per forget set, the
# ULD assistant, every gradient baseline and the offset baselines (a small model trained on the same data, copied and
# unlearned: base + β·(unlearned − reference), β = 1); serves them with LogitServer; evaluates them through the API with
# uld-eval (forget quality, model utility, ROUGE-L, α sweep); writes bench/results/tofu-mini.md and the α plot.
#
#   bench/tofu-mini.sh [--forget "forget4 forget2 forget1"] [--work artifacts/tofu-mini] [--methods "ga ga+gd ..."] [--soul-methods "npo+kl"]
#   INSTALL_DEFAULTS=1 bench/tofu-mini.sh --forget forget4    # also (re)writes the default models under models/
#   bench/tofu-mini.sh --methods "" --soul-methods "" --offset-methods "" --report artifacts/uld-only.md
#                                                              # ULD only (target, retain, the assistant's α sweep)
#
# Every step skips outputs that already exist, so an interrupted run continues where it stopped (delete a directory
# under --work to rebuild it). Timing on a 2-core machine: ~15 min for the target, ~7 min per retain model, then per
# forget set ~20 min of unlearning (every method) and 20–60 min of evaluating its 30 deployments. Once `target` and
# `small` exist under --work (a run builds them before any forget set) the forget sets are independent, and these
# models are too small to use two cores each: one process per forget set ran every method's unlearning and evaluation
# in 70 min instead of ≈ 2.5 h, e.g.
#   for i in 1 2 4; do OMP_NUM_THREADS=1 BIN=artifacts/tofu-mini/bin-$i PORT=$((8200 + 10 * i)) GATEWAY_PORT=$((8201 + 10 * i)) \
#     bench/tofu-mini.sh --forget forget$i --report artifacts/tofu-mini/part-$i.md & sleep 60; done; wait
#   bench/tofu-mini.sh    # every step is done: only writes the report of all three
# (the sleep lets each build and copy its binaries before the next starts).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${DATA:-../shared/data/tofu}"
WORK=artifacts/tofu-mini
FORGET="forget4 forget1 forget2"
METHODS="ga ga+gd ga+kl ga1 ga2 ga3 npo npo+gd npo+kl tnpo simnpo simnpo+gd dpo dpo+gd idk+gd flat-kl task-vector influence+gd rmu"
# SOUL (seed 000): these gradient methods again with the Sophia optimizer, as deployments "soul-<method>".
SOUL_METHODS="npo+kl"
OFFSET_METHODS="offset-ga+kl offset-dpo+kl offset-npo+kl"
ALPHAS="1.5 1.75 2 2.25 2.5"  # must include ALPHA_DEFAULT: the ULD row of the table; forget1's chosen point is 1.75
ALPHA_DEFAULT="${ALPHA_DEFAULT:-2}"  # the chosen point of the assistant-design search (bench/results/uld-search.md)
# The decode rule of the ULD deployment (docs/DESIGN.md, *The ULD decode rule*): SuppressOnly only pushes tokens down.
ULD_RULE="${ULD_RULE:-SuppressOnly}"
MAX_QUESTIONS="${MAX_QUESTIONS:-300}"  # questions per retain / real-author / world-fact set (TOFU's reference: 300)
PORT="${PORT:-8190}"
GATEWAY_PORT="${GATEWAY_PORT:-8191}"
REPORT=bench/results/tofu-mini.md  # per-forget-set details go beside it (forgetN.md, or <report>-forgetN.md)
AB_FORGET=forget4         # the forget set of the A/B report and of the default models
AB_BASELINE=npo+gd        # the gradient checkpoint ULD is A/B-tested against (seed 001's strongest baseline)
while [ $# -gt 0 ]; do
  case "$1" in
    --forget) FORGET="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --methods) METHODS="$2"; shift 2 ;;
    --soul-methods) SOUL_METHODS="$2"; shift 2 ;;
    --offset-methods) OFFSET_METHODS="$2"; shift 2 ;;
    --alphas) ALPHAS="$2"; shift 2 ;;
    --report) REPORT="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$DATA/full.json" ] || { echo "no TOFU data at $DATA (set DATA=...)" >&2; exit 2; }
# Every gradient run of a forget set: its deployment name is its directory under $WORK/<forget set>.
RUNS="$METHODS"
for m in $SOUL_METHODS; do RUNS="$RUNS soul-$m"; done

echo "==> building (Release)"
dotnet build UldServer.sln -c Release -v quiet -nologo >/dev/null
# Run from a copy so that rebuilding while a long run is going cannot swap assemblies under it.
BIN="${BIN:-$WORK/bin}"  # another copy (BIN=...) lets two runs share one --work
rm -rf "$BIN" && mkdir -p "$BIN"
for p in Trainer LogitServer Gateway Eval; do cp -r "src/apps/$p/bin/Release/net10.0" "$BIN/$p"; done
trainer() { dotnet "$BIN/Trainer/uld-trainer.dll" "$@"; }
evaluate() { dotnet "$BIN/Eval/uld-eval.dll" "$@"; }

[ -f "$WORK/tokenizer/tokenizer.json" ] || trainer tokenizer train --corpus "$DATA/full.json" --vocab-size 1024 -o "$WORK/tokenizer"
[ -f "$WORK/target/manifest.json" ] || trainer train --data "$DATA" --tokenizer "$WORK/tokenizer" -o "$WORK/target"
# The offset pair's small model: the target's recipe (same data, same tokenizer) at about a tenth of its parameters.
if [ -n "$OFFSET_METHODS" ] && [ ! -f "$WORK/small/manifest.json" ]; then
  trainer train --data "$DATA" --tokenizer "$WORK/tokenizer" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 176 -o "$WORK/small"
fi

for f in $FORGET; do
  [ -f "$WORK/retain-$f/manifest.json" ] || trainer train --data "$DATA" --tokenizer "$WORK/tokenizer" --role retain --forget "$f" -o "$WORK/retain-$f"
  [ -f "$WORK/$f/uld/manifest.json" ] || trainer unlearn --method uld --base "$WORK/target" --data "$DATA" --forget "$f" -o "$WORK/$f/uld"
  for m in $RUNS; do
    case "$m" in
      soul-*) how=(--method "${m#soul-}" --optimizer sophia) ;;
      *) how=(--method "$m") ;;
    esac
    [ -f "$WORK/$f/$m/manifest.json" ] || trainer unlearn "${how[@]}" --base "$WORK/target" --data "$DATA" --forget "$f" -o "$WORK/$f/$m"
  done
  for m in $OFFSET_METHODS; do
    [ -f "$WORK/$f/$m/unlearned/manifest.json" ] || trainer unlearn --method "$m" --base "$WORK/target" --small "$WORK/small" --data "$DATA" --forget "$f" -o "$WORK/$f/$m" --force
  done

  # One LogitServer with every model of this forget set. The ULD deployment allows any α in [0, 4] per request and
  # no relative-top filter: these small models memorise so hard that r = 0.1 keeps one token per step.
  args=(--urls "http://127.0.0.1:$PORT"
    --LogitServer:Deployments:0:Name=target --LogitServer:Deployments:0:Kind=Plain --LogitServer:Deployments:0:Model="$WORK/target"
    --LogitServer:Deployments:1:Name=retain --LogitServer:Deployments:1:Kind=Plain --LogitServer:Deployments:1:Model="$WORK/retain-$f"
    --LogitServer:Deployments:2:Name=uld --LogitServer:Deployments:2:Kind=Uld --LogitServer:Deployments:2:Base="$WORK/target"
    --LogitServer:Deployments:2:Assistant="$WORK/$f/uld" --LogitServer:Deployments:2:AlphaDefault="$ALPHA_DEFAULT"
    --LogitServer:Deployments:2:AlphaMin=0 --LogitServer:Deployments:2:AlphaMax=4 --LogitServer:Deployments:2:RelativeTopDefault=0
    --LogitServer:Deployments:2:Rule="$ULD_RULE")
  models=(-m target)
  i=3
  for m in $RUNS; do
    args+=(--LogitServer:Deployments:$i:Name="$m" --LogitServer:Deployments:$i:Kind=Plain --LogitServer:Deployments:$i:Model="$WORK/$f/$m")
    models+=(-m "$m"); i=$((i + 1))
  done
  for m in $OFFSET_METHODS; do
    args+=(--LogitServer:Deployments:$i:Name="$m" --LogitServer:Deployments:$i:Kind=Offset --LogitServer:Deployments:$i:Base="$WORK/target"
      --LogitServer:Deployments:$i:Reference="$WORK/$f/$m/reference" --LogitServer:Deployments:$i:Unlearned="$WORK/$f/$m/unlearned")
    models+=(-m "$m"); i=$((i + 1))
  done
  for a in $ALPHAS; do models+=(-m "uld@$a"); done

  echo "==> serving $f on 127.0.0.1:$PORT"
  dotnet "$BIN/LogitServer/uld-logitserver.dll" "${args[@]}" > "$WORK/logitserver-$f.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
  [ -f "$WORK/results/$f.json" ] || evaluate tofu --url "http://127.0.0.1:$PORT" --data "$DATA" --forget "$f" --retain-model retain "${models[@]}" --max-questions "$MAX_QUESTIONS" -o "$WORK/results/$f.json"

  if [ "$f" = "$AB_FORGET" ] && [ ! -f bench/results/ab-report.md ]; then
    # A/B: the gateway splits one model name between ULD and the gradient baseline; the report measures both
    # variants on the same prompts through it.
    key="sk-bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    env Gateway__Clusters__bench__Replicas__0="http://127.0.0.1:$PORT" Gateway__Clusters__bench__Models__0=uld \
      "Gateway__Clusters__bench__Models__1=$AB_BASELINE" Gateway__Clusters__bench__Models__2=retain \
      Gateway__Experiments__tofu-mini-ab__Variants__0__Name=uld Gateway__Experiments__tofu-mini-ab__Variants__0__Model=uld \
      "Gateway__Experiments__tofu-mini-ab__Variants__1__Name=$AB_BASELINE" "Gateway__Experiments__tofu-mini-ab__Variants__1__Model=$AB_BASELINE" \
      Gateway__ApiKeys__0__Name=bench Gateway__ApiKeys__0__Sha256="$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)" \
      Gateway__ApiKeys__0__RequestsPerMinute=1000000 \
      dotnet "$BIN/Gateway/uld-gateway.dll" --urls "http://127.0.0.1:$GATEWAY_PORT" > "$WORK/gateway.log" 2>&1 &
    gateway=$!
    trap 'kill $server $gateway 2>/dev/null || true' EXIT
    for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$GATEWAY_PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
    evaluate ab --url "http://127.0.0.1:$GATEWAY_PORT" --api-key "$key" --experiment tofu-mini-ab --retain-model retain \
      --data "$DATA" --forget "$f" -o bench/results/ab-report.md
    kill -TERM $gateway; wait $gateway 2>/dev/null || true
  fi
  kill -TERM $server; wait $server 2>/dev/null || true
  trap - EXIT
done

evaluate report --work "$WORK" --alpha-default "$ALPHA_DEFAULT" --uld-rule "$ULD_RULE" -o "$REPORT"
details="$(dirname "$REPORT")/"
[ "$REPORT" = bench/results/tofu-mini.md ] || details="${REPORT%.md}-"
for f in $FORGET; do cp "$WORK/results/$f.md" "$details$f.md" 2>/dev/null || true; done

if [ "${INSTALL_DEFAULTS:-0}" = 1 ]; then
  # The default models under models/: serving-only copies (ONNX, no training weights) of the target, its ULD
  # assistant for the A/B forget set and the A/B baseline.
  trainer package -m "$WORK/target" -o models/tofu-mini-target --force
  trainer package -m "$WORK/$AB_FORGET/uld" -o models/tofu-mini-uld --base-name tofu-mini-target --force
  trainer package -m "$WORK/$AB_FORGET/$AB_BASELINE" -o models/tofu-mini-npo-gd --base-name tofu-mini-target --force
fi
