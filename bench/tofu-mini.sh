#!/usr/bin/env bash
# TOFU-mini under the held-out protocol (docs/METHODS.md, *Protocol*): every method — ULD and each baseline — is tuned
# over the same number of configurations on a validation forget set (authors 186–189), one configuration per method
# is chosen there by one rule (`uld-eval select`), and only that configuration is run on the test forget set
# (authors 196–199) with three seeds and reported. ULD's α is never tuned: each assistant is served at the α its own
# calibration chose (`unlearn` writes it into the manifest; LogitServer serves it as the default).
#
#   bench/tofu-mini.sh [--pairs "val4:forget4 val2:forget2 val1:forget1"] [--methods "uld ga+gd ..."] [--seeds "1 2 3"]
#                      [--work artifacts/tofu-mini] [--report bench/results/tofu-mini.md] [--jobs 2]
#
#                      [--target DIR] [--carry DIR] [--stop-after val]
#
# Every step skips outputs that already exist, so an interrupted run continues where it stopped (delete a directory
# under --work to redo it). A run longer than one sitting on a machine whose --work does not survive is carried in
# parts: --carry DIR (a directory kept with the repository, e.g. bench/results/tofu-mini-carry) receives each pair's
# validation outcome (chosen configurations, their configs, the validation results) once it exists and each test
# set's results, and a later run with the same --carry restores them and skips what they cover; --stop-after val ends
# a run once every pair's configurations are chosen. --target DIR starts from a packaged target that kept its
# training weights (models/tofu-mini-target: the same recipe and tokenizer) instead of training one (20 min). Unlearning runs go --jobs at a time, one thread each: these models are too small to use two
# cores each. Wall time measured on a 2-core machine (val4:forget4): 20 min for the target, 12 min for a pair's two
# retain models, then 56 min of validation unlearning (9 methods × 4 configurations), 10 min of validation evaluation
# (VAL_QUESTIONS=60), 25 min of test unlearning per seed and 10 min of test evaluation (TEST_QUESTIONS=100): ≈ 2 h 50 min
# for one pair with three seeds, ≈ 7 h for all three pairs.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DATA="${DATA:-../shared/data/tofu}"
SPLIT=data/tofu-mini.json
WORK=artifacts/tofu-mini
PAIRS="val4:forget4 val2:forget2 val1:forget1"
# The README's comparison: ULD and the baselines it is compared with. soul-<m> is <m> with the Sophia optimizer.
METHODS="uld ga+gd npo+gd npo+kl simnpo+gd dpo+gd rmu soul-npo+kl offset-npo+kl"
SEEDS="1 2 3"
VAL_SEED=1234               # the seed of every validation run (test seeds differ)
ULD_RULE=SuppressOnly       # the decode rule ULD is served with, and calibrated for
CALIBRATION_REFERENCES="unseen other-answers"  # ULD configurations = trainings × these
SWEEP_ALPHAS="1 1.5 2 2.5 3"  # fixed α the first test seed's assistant is also measured at: how far is calibrated α from the best?
VAL_QUESTIONS="${VAL_QUESTIONS:-100}"    # retain / real-author / world-fact questions per validation evaluation
TEST_QUESTIONS="${TEST_QUESTIONS:-300}"  # the same for test (TOFU's reference: 300)
PORT="${PORT:-8190}"
GATEWAY_PORT="${GATEWAY_PORT:-8191}"
AB_FORGET=forget4   # the test set whose first seeds of ULD and NPO+GD are A/B-tested through the gateway
AB_BASELINE=npo+gd
REPORT=bench/results/tofu-mini.md
JOBS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) PAIRS="$2"; shift 2 ;;
    --methods) METHODS="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --report) REPORT="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --target) TARGET_DIR="$2"; shift 2 ;;
    --carry) CARRY="$2"; shift 2 ;;
    --stop-after) STOP_AFTER="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
TARGET_DIR="${TARGET_DIR:-}" CARRY="${CARRY:-}" STOP_AFTER="${STOP_AFTER:-}"
case "$STOP_AFTER" in ""|val) ;; *) echo "--stop-after takes val" >&2; exit 2 ;; esac
if [ -n "$TARGET_DIR" ] && [ ! -f "$TARGET_DIR/model.safetensors" ]; then
  echo "--target $TARGET_DIR has no model.safetensors (package it with --keep-weights)" >&2; exit 2
fi
[ -f "$DATA/full.json" ] || { echo "no TOFU data at $DATA (set DATA=...)" >&2; exit 2; }

# The tuning grid: the same number of configurations (4) for every method. Gradient methods: learning rate × optimizer
# steps, with β and γ at their papers' values (NPO/DPO β 0.1, SimNPO β 2.5, γ 1); RMU: its learning rates; ULD: the
# two trainings (steps) × the two references α can be calibrated against (docs/METHODS.md, *α calibration*) — its α is
# calibrated per assistant, never tuned. 200 steps of a whole-model method cost about what 400 LoRA
# steps of the assistant do (bench/results/train-cost.md).
grid() {
  case "$1" in
    uld) echo "wr=2,steps=400 wr=2,steps=200" ;;
    rmu) echo "lr=1e-3,steps=50 lr=1e-3,steps=200 lr=1e-2,steps=50 lr=1e-2,steps=200" ;;
    *) echo "lr=1e-4,steps=50 lr=1e-4,steps=200 lr=5e-4,steps=50 lr=5e-4,steps=200" ;;
  esac
}

build_apps Trainer LogitServer Gateway Eval

[ -f "$WORK/tokenizer/tokenizer.json" ] || trainer tokenizer train --corpus "$DATA/full.json" --vocab-size 1024 -o "$WORK/tokenizer"
if [ -n "$TARGET_DIR" ] && [ ! -f "$WORK/target/manifest.json" ]; then
  cmp -s "$TARGET_DIR/tokenizer.json" "$WORK/tokenizer/tokenizer.json" || { echo "--target $TARGET_DIR has another tokenizer than this recipe's" >&2; exit 2; }
  mkdir -p "$WORK" && cp -r "$TARGET_DIR" "$WORK/target"
fi
[ -f "$WORK/target/manifest.json" ] || trainer train --data "$DATA" --split "$SPLIT" --tokenizer "$WORK/tokenizer" -o "$WORK/target"
# What an earlier part of the run carried over (see --carry above).
[ -n "$CARRY" ] && [ -d "$CARRY" ] && mkdir -p "$WORK" && cp -rn "$CARRY/." "$WORK/"
# carry FIND-ARGS...: the files under $WORK that `find` selects, copied to $CARRY with their relative paths.
carry() {
  [ -n "$CARRY" ] || return 0
  local f
  (cd "$WORK" && find "$@" -type f) | while read -r f; do mkdir -p "$CARRY/$(dirname "$f")" && cp "$WORK/$f" "$CARRY/$f"; done
}
# The offset pair's small model: the target's recipe (same data, same tokenizer) at about a tenth of its parameters.
[ -f "$WORK/small/manifest.json" ] || trainer train --data "$DATA" --split "$SPLIT" --tokenizer "$WORK/tokenizer" \
  --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 176 -o "$WORK/small"

# The unlearn command of one method at one configuration and seed, into $out; prints nothing when $out is complete.
unlearn_job() {
  local m="$1" spec="$2" set="$3" seed="$4" out="$5" reference="${6:-other-answers}"
  local authors forget_examples steps_per_epoch lr="" steps="" wr="" how=()
  # the set's author count, from its list under "forget" in the split file
  authors=$(awk -v key="\"$set\":" '/"forget": *\{/ { inside = 1 } inside && $1 == key { counting = 1; next }
    counting && /\]/ { print n; exit } counting && /[0-9]/ { n++ }' "$SPLIT")
  [ -n "$authors" ] && [ "$authors" -gt 0 ] || { echo "no forget set $set in $SPLIT" >&2; exit 2; }
  forget_examples=$((authors * 20))
  for kv in ${spec//,/ }; do
    case "${kv%%=*}" in lr) lr="${kv#*=}" ;; steps) steps="${kv#*=}" ;; wr) wr="${kv#*=}" ;; esac
  done
  case "$m" in
    uld) how=(--method uld --retain-weight "$wr" --epochs 1 --min-steps "$steps" --calibrate-rule "$ULD_RULE" --calibrate-reference "$reference") ;;
    *)
      steps_per_epoch=$(((forget_examples + 15) / 16))
      how=(--lr "$lr" --epochs $(((steps + steps_per_epoch - 1) / steps_per_epoch)))
      case "$m" in
        soul-*) how+=(--method "${m#soul-}" --optimizer sophia) ;;
        offset-*) how+=(--method "$m" --small "$WORK/small" --force) ;;
        simnpo*) how+=(--method "$m" --beta 2.5) ;;
        *) how+=(--method "$m") ;;
      esac ;;
  esac
  local done_file="$out/manifest.json"
  [ "${m#offset-}" != "$m" ] && done_file="$out/unlearned/manifest.json"
  [ -f "$done_file" ] && return 0
  mkdir -p "$(dirname "$out")" && echo "$spec" > "$out.config"
  printf 'OMP_NUM_THREADS=1 dotnet %q unlearn %s --base %q --data %q --split %q --forget %q --seed %s -o %q > %q 2>&1 || echo "FAILED: %s (log %s)"\n' \
    "$BIN/Trainer/uld-trainer.dll" "${how[*]}" "$WORK/target" "$DATA" "$SPLIT" "$set" "$seed" "$out" "$out.log" "$out" "$out.log"
}

# One LogitServer with the target, the set's retain model and the given "name=dir" runs; evaluates them against the
# retain model (evaluated once, into $results/_reference.json) one method per results file.
serve_and_evaluate() {
  local set="$1" results="$2" questions="$3"; shift 3
  local args=(--urls "http://127.0.0.1:$PORT" --LogitServer:MaxBatchSize=64
    --LogitServer:Deployments:0:Name=target --LogitServer:Deployments:0:Kind=Plain --LogitServer:Deployments:0:Model="$WORK/target"
    --LogitServer:Deployments:1:Name=retain --LogitServer:Deployments:1:Kind=Plain --LogitServer:Deployments:1:Model="$WORK/retain-$set")
  local i=2 entry name dir
  for entry in "$@"; do
    name="${entry%%=*}"; dir="${entry#*=}"
    case "$name" in
      uld~*) args+=(--LogitServer:Deployments:$i:Name="$name" --LogitServer:Deployments:$i:Kind=Uld --LogitServer:Deployments:$i:Base="$WORK/target"
          --LogitServer:Deployments:$i:Assistant="$dir" --LogitServer:Deployments:$i:Rule="$ULD_RULE" --LogitServer:Deployments:$i:AlphaMin=0
          --LogitServer:Deployments:$i:AlphaMax=4 --LogitServer:Deployments:$i:RelativeTopDefault=0)
        # A validation configuration names the reference its α was calibrated against; the manifest holds each one's α.
        for ref in $CALIBRATION_REFERENCES; do
          [ "${name%_$ref}" != "$name" ] && args+=(--LogitServer:Deployments:$i:AlphaDefault="$(sed -n "s/.*\"alpha_${ref//-/_}\": *\([0-9.]*\).*/\1/p" "$dir/manifest.json")")
        done ;;
      offset-*) args+=(--LogitServer:Deployments:$i:Name="$name" --LogitServer:Deployments:$i:Kind=Offset --LogitServer:Deployments:$i:Base="$WORK/target"
          --LogitServer:Deployments:$i:Reference="$dir/reference" --LogitServer:Deployments:$i:Unlearned="$dir/unlearned") ;;
      *) args+=(--LogitServer:Deployments:$i:Name="$name" --LogitServer:Deployments:$i:Kind=Plain --LogitServer:Deployments:$i:Model="$dir") ;;
    esac
    i=$((i + 1))
  done
  mkdir -p "$results"
  echo "==> serving $((i - 2)) runs of $set on 127.0.0.1:$PORT"
  dotnet "$BIN/LogitServer/uld-logitserver.dll" "${args[@]}" > "$results/logitserver.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "LogitServer did not start: $results/logitserver.log" >&2; exit 1; }
  local common=(--url "http://127.0.0.1:$PORT" --data "$DATA" --split "$SPLIT" --forget "$set" --retain-model retain --max-questions "$questions")
  [ -f "$results/_reference.json" ] || evaluate tofu "${common[@]}" -m retain -m target -o "$results/_reference.json"
  local method models
  for method in $(printf '%s\n' "$@" | sed 's/[~@=].*//' | sort -u); do
    [ -f "$results/$method.json" ] && continue
    models=()
    for entry in "$@"; do [ "${entry%%~*}" = "$method" ] && models+=(-m "${entry%%=*}"); done
    [ "$method" = uld ] && for a in $SWEEP_ALPHAS; do [ "$set" = "${set#val}" ] && models+=(-m "uld~seed${SEEDS%% *}@$a"); done
    evaluate tofu "${common[@]}" --retain-results "$results/_reference.json" "${models[@]}" -o "$results/$method.json"
  done
  if [ "$set" = "$AB_FORGET" ] && [ ! -f "$results/ab-report.md" ]; then ab_report "$set" "$results"; fi
  kill -TERM $SERVER_PID; wait $SERVER_PID 2>/dev/null || true
  trap - EXIT
}

# A/B: the gateway splits one model name between ULD and the baseline (first seed of each); the report measures both
# variants on the same prompts through it.
ab_report() {
  local set="$1" results="$2" seed="${SEEDS%% *}" key
  key="sk-bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  env Gateway__Clusters__bench__Replicas__0="http://127.0.0.1:$PORT" Gateway__Clusters__bench__Models__0="uld~seed$seed" \
    "Gateway__Clusters__bench__Models__1=$AB_BASELINE~seed$seed" Gateway__Clusters__bench__Models__2=retain \
    Gateway__Experiments__tofu-mini-ab__Variants__0__Name=uld "Gateway__Experiments__tofu-mini-ab__Variants__0__Model=uld~seed$seed" \
    "Gateway__Experiments__tofu-mini-ab__Variants__1__Name=$AB_BASELINE" "Gateway__Experiments__tofu-mini-ab__Variants__1__Model=$AB_BASELINE~seed$seed" \
    Gateway__ApiKeys__0__Name=bench Gateway__ApiKeys__0__Sha256="$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)" \
    Gateway__ApiKeys__0__RequestsPerMinute=1000000 \
    dotnet "$BIN/Gateway/uld-gateway.dll" --urls "http://127.0.0.1:$GATEWAY_PORT" > "$results/gateway.log" 2>&1 &
  local gateway=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$GATEWAY_PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
  evaluate ab --url "http://127.0.0.1:$GATEWAY_PORT" --api-key "$key" --experiment tofu-mini-ab --retain-model retain \
    --data "$DATA" --split "$SPLIT" --forget "$set" -o "$results/ab-report.md" || echo "A/B report failed: $results/gateway.log" >&2
  kill -TERM $gateway; wait $gateway 2>/dev/null || true
}

for pair in $PAIRS; do
  val="${pair%%:*}"; test="${pair#*:}"
  retain_model() {
    [ -f "$WORK/retain-$1/manifest.json" ] || trainer train --data "$DATA" --split "$SPLIT" --tokenizer "$WORK/tokenizer" --role retain --forget "$1" -o "$WORK/retain-$1"
  }

  # Validation: every configuration of every method, one seed (skipped once its outcome exists, e.g. carried over).
  if [ ! -f "$WORK/selected-$val.txt" ]; then
  retain_model "$val"
  entries=()
  for m in $METHODS; do
    for spec in $(grid "$m"); do
      c="$(config_name "$spec")"
      unlearn_job "$m" "$spec" "$val" "$VAL_SEED" "$WORK/val/$val/$m/$c"
    done
  done | run_jobs
  for m in $METHODS; do
    for spec in $(grid "$m"); do
      c="$(config_name "$spec")"
      if [ "$m" = uld ]; then for ref in $CALIBRATION_REFERENCES; do entries+=("uld~${c}_$ref=$WORK/val/$val/uld/$c"); done
      else entries+=("$m~$c=$WORK/val/$val/$m/$c"); fi
    done
  done
  serve_and_evaluate "$val" "$WORK/results/$val" "$VAL_QUESTIONS" "${entries[@]}"
  evaluate select --results "$WORK/results/$val"/*.json -o "$WORK/selected-$val.txt"
  carry "selected-$val.txt" "results/$val" "val/$val" \( -name '*.config' -o -path "results/$val/*.json" -o -name "selected-$val.txt" \)
  fi
  [ "$STOP_AFTER" = val ] && continue
  # Test: skipped once its results are complete (e.g. carried over; the models they measured are then not here).
  [ -f "$WORK/results/$test/_complete" ] && continue
  retain_model "$test"

  # Test: each method's chosen configuration, every seed.
  # Seed-major, so that a run stopped early (or restarted with fewer --seeds) has every method at the same seeds.
  for s in $SEEDS; do
    while read -r m c; do
      trained="$c" reference=""
      [ "$m" = uld ] && trained="${c%_*}" reference="${c##*_}"  # uld~<training>_<reference>
      unlearn_job "$m" "$(cat "$WORK/val/$val/$m/$trained.config")" "$test" "$s" "$WORK/test/$test/$m/seed$s" $reference
    done < "$WORK/selected-$val.txt"
  done | run_jobs
  entries=()
  while read -r m c; do for s in $SEEDS; do entries+=("$m~seed$s=$WORK/test/$test/$m/seed$s"); done; done < "$WORK/selected-$val.txt"
  serve_and_evaluate "$test" "$WORK/results/$test" "$TEST_QUESTIONS" "${entries[@]}"
  touch "$WORK/results/$test/_complete"
  # The report reads each test run's manifest (calibrated α, training time) beside the results.
  carry "results/$test" "test/$test" \( -path "results/$test/*.json" -o -path "results/$test/_complete" -o -path "results/$test/ab-report.*" -o -name manifest.json \)
done
[ "$STOP_AFTER" = val ] && { echo "==> configurations chosen for $PAIRS${CARRY:+ (carried in $CARRY)}; stopping before the test sets (--stop-after val)"; exit 0; }

evaluate report --work "$WORK" --pairs "$PAIRS" -o "$REPORT"
if [ "$REPORT" = bench/results/tofu-mini.md ] && [ -f "$WORK/results/$AB_FORGET/ab-report.md" ]; then
  cp "$WORK/results/$AB_FORGET"/ab-report.{md,json,png} bench/results/ 2>/dev/null || true
fi
