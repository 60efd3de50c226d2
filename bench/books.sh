#!/usr/bin/env bash
# The copyrighted-text benchmark (docs/METHODS.md, *Books benchmark*): a real pretrained model (stories260K) is
# fine-tuned on a story "book" it cannot know (data/books, `uld-bench book`) until it reproduces it; one part of the
# book is then unlearned. Every method — ULD and each baseline — is tuned over the same number of configurations on the
# validation part (val-forget), one configuration per method is chosen by one rule (`uld-eval select --corpus`), and
# only that one runs on the test part (test-forget) with three seeds. Evaluation goes through the API
# (`uld-eval corpus`): VerbMem on the forgotten and on kept passages, PrivLeak against the holdout part, and fluency:
# the perplexity of each model's continuations under the original stories260K, which never saw the book.
#
#   bench/books.sh [--methods "uld ga+gd ..."] [--seeds "1 2 3"] [--work artifacts/books] [--report bench/results/books.md] [--jobs 2]
#
# Every step skips outputs that already exist, so an interrupted run continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BOOK=data/books
CHECKPOINT="${CHECKPOINT:-../shared/models/stories260K/stories260K.bin}"
TOKENIZER="${TOKENIZER:-../shared/models/stories260K/tok512.bin}"
WORK=artifacts/books
METHODS="uld ga+gd npo+gd npo+kl simnpo+gd rmu offset-npo+kl"
SEEDS="1 2 3"
VAL_SEED=1234
ULD_RULE=SuppressOnly
SWEEP_ALPHAS="0.5 1 1.5 2 3"   # fixed α the first test seed's assistant is also measured at
FINETUNE=(--epochs 30 --lr 3e-3)  # the target's and the retain models' recipe: train VerbMem 0.99 on the book
PORT="${PORT:-8192}"
REPORT=bench/results/books.md
JOBS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --methods) METHODS="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --report) REPORT="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$CHECKPOINT" ] || { echo "no stories260K checkpoint at $CHECKPOINT (set CHECKPOINT=...)" >&2; exit 2; }

# The grid: the same number of configurations (4) for every method. The forget part is 16 passages of one window each,
# so one optimizer step is one epoch over it. Gradient methods: learning rate × steps (β, γ at their papers' values,
# SimNPO β 2.5); RMU: its learning rates; ULD: steps × learning rate (its defaults, 5e-3, leave a 2-layer assistant with
# forget CE 3.8 after 100 steps: it must memorise the passages) × the weight of its retain (uniform) term — the book's
# stories share one template, and an assistant that learns the template from the forget passages suppresses it in
# every story unless the retain term holds it uniform there —, α calibrated against the holdout, never tuned.
grid() {
  case "$1" in
    uld) echo "steps=150,lr=5e-3,wr=2 steps=300,lr=5e-3,wr=2 steps=150,lr=5e-3,wr=8 steps=300,lr=5e-3,wr=8" ;;
    rmu) echo "lr=1e-3,steps=10 lr=1e-3,steps=30 lr=1e-2,steps=10 lr=1e-2,steps=30" ;;
    *) echo "lr=5e-4,steps=10 lr=5e-4,steps=30 lr=2e-3,steps=10 lr=2e-3,steps=30" ;;
  esac
}

build_apps Trainer LogitServer Eval Bench

# The book is committed; regenerating it must give the same bytes (a changed generator would silently change the benchmark).
dotnet "$BIN/Bench/uld-bench.dll" book -o "$WORK/book-check" >/dev/null
diff -r "$WORK/book-check" "$BOOK" >/dev/null || { echo "uld-bench book no longer writes $BOOK; regenerate and commit it" >&2; exit 1; }

[ -f "$WORK/base/manifest.json" ] || trainer import llama2c --checkpoint "$CHECKPOINT" --tokenizer "$TOKENIZER" --name stories260K -o "$WORK/base"
# target: the whole book but the holdout parts; retain-<set>: the same without that forget part.
[ -f "$WORK/target/manifest.json" ] || trainer train --base "$WORK/base" "${FINETUNE[@]}" --forget-file $BOOK/test-forget.jsonl \
  --retain-file $BOOK/val-forget.jsonl --retain-file $BOOK/retain.jsonl --retain-file $BOOK/retain-eval.jsonl -o "$WORK/target"
[ -f "$WORK/retain-test/manifest.json" ] || trainer train --base "$WORK/base" "${FINETUNE[@]}" --role retain \
  --retain-file $BOOK/val-forget.jsonl --retain-file $BOOK/retain.jsonl --retain-file $BOOK/retain-eval.jsonl -o "$WORK/retain-test"
[ -f "$WORK/retain-val/manifest.json" ] || trainer train --base "$WORK/base" "${FINETUNE[@]}" --role retain \
  --retain-file $BOOK/test-forget.jsonl --retain-file $BOOK/retain.jsonl --retain-file $BOOK/retain-eval.jsonl -o "$WORK/retain-val"
# The offset pair's small model: the target's first two layers (same vocabulary, a fraction of the compute).
[ -f "$WORK/small/manifest.json" ] || trainer truncate --base "$WORK/target" --layers 2 -o "$WORK/small"

# The unlearn command of one method at one configuration and seed, into $out; prints nothing when $out is complete.
unlearn_job() {
  local m="$1" spec="$2" set="$3" seed="$4" out="$5" lr="" steps="" wr="" how=()
  for kv in ${spec//,/ }; do
    case "${kv%%=*}" in lr) lr="${kv#*=}" ;; steps) steps="${kv#*=}" ;; wr) wr="${kv#*=}" ;; esac
  done
  case "$m" in
    uld) how=(--method uld --lr "$lr" --epochs 1 --min-steps "$steps" --retain-weight "$wr" --calibrate-rule "$ULD_RULE" --calibrate-reference unseen) ;;
    offset-*) how=(--method "$m" --small "$WORK/small" --force --lr "$lr" --epochs "$steps") ;;
    simnpo*) how=(--method "$m" --beta 2.5 --lr "$lr" --epochs "$steps") ;;
    *) how=(--method "$m" --lr "$lr" --epochs "$steps") ;;
  esac
  local done_file="$out/manifest.json"
  [ "${m#offset-}" != "$m" ] && done_file="$out/unlearned/manifest.json"
  [ -f "$done_file" ] && return 0
  rm -rf "$out" && mkdir -p "$(dirname "$out")" && echo "$spec" > "$out.config"
  printf 'OMP_NUM_THREADS=1 dotnet %q unlearn %s --base %q --forget-file %q --retain-file %q --holdout-file %q --seed %s -o %q > %q 2>&1 || echo "FAILED: %s (log %s)"\n' \
    "$BIN/Trainer/uld-trainer.dll" "${how[*]}" "$WORK/target" "$BOOK/$set-forget.jsonl" "$BOOK/retain.jsonl" "$BOOK/$set-holdout.jsonl" "$seed" "$out" "$out.log" "$out" "$out.log"
}

# One LogitServer with the judge, the target, the set's retain model and the given "name=dir" runs; one results file
# per method, each with the target and the retain model beside the method's runs.
serve_and_evaluate() {
  local set="$1" results="$2"; shift 2
  local args=(--urls "http://127.0.0.1:$PORT" --LogitServer:MaxBatchSize=64
    --LogitServer:Deployments:0:Name=judge --LogitServer:Deployments:0:Kind=Plain --LogitServer:Deployments:0:Model="$WORK/base"
    --LogitServer:Deployments:1:Name=target --LogitServer:Deployments:1:Kind=Plain --LogitServer:Deployments:1:Model="$WORK/target"
    --LogitServer:Deployments:2:Name=retain --LogitServer:Deployments:2:Kind=Plain --LogitServer:Deployments:2:Model="$WORK/retain-$set")
  local i=3 entry name dir
  for entry in "$@"; do
    name="${entry%%=*}"; dir="${entry#*=}"
    case "$name" in
      uld~*) args+=(--LogitServer:Deployments:$i:Name="$name" --LogitServer:Deployments:$i:Kind=Uld --LogitServer:Deployments:$i:Base="$WORK/target"
          --LogitServer:Deployments:$i:Assistant="$dir" --LogitServer:Deployments:$i:Rule="$ULD_RULE" --LogitServer:Deployments:$i:AlphaMin=0
          --LogitServer:Deployments:$i:AlphaMax=4 --LogitServer:Deployments:$i:RelativeTopDefault=0) ;;
      offset-*) args+=(--LogitServer:Deployments:$i:Name="$name" --LogitServer:Deployments:$i:Kind=Offset --LogitServer:Deployments:$i:Base="$WORK/target"
          --LogitServer:Deployments:$i:Reference="$dir/reference" --LogitServer:Deployments:$i:Unlearned="$dir/unlearned") ;;
      *) args+=(--LogitServer:Deployments:$i:Name="$name" --LogitServer:Deployments:$i:Kind=Plain --LogitServer:Deployments:$i:Model="$dir") ;;
    esac
    i=$((i + 1))
  done
  mkdir -p "$results"
  echo "==> serving $((i - 3)) runs of $set on 127.0.0.1:$PORT"
  dotnet "$BIN/LogitServer/uld-logitserver.dll" "${args[@]}" > "$results/logitserver.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "LogitServer did not start: $results/logitserver.log" >&2; exit 1; }
  local method models
  for method in $(printf '%s\n' "$@" | sed 's/[~@=].*//' | sort -u); do
    [ -f "$results/$method.json" ] && continue
    models=(-m target -m retain)
    for entry in "$@"; do [ "${entry%%~*}" = "$method" ] && models+=(-m "${entry%%=*}"); done
    [ "$method" = uld ] && [ "$set" = test ] && for a in $SWEEP_ALPHAS; do models+=(-m "uld~seed${SEEDS%% *}@$a"); done
    evaluate corpus --url "http://127.0.0.1:$PORT" --forget "$BOOK/$set-forget.jsonl" --retain "$BOOK/retain-eval.jsonl" \
      --holdout "$BOOK/$set-holdout.jsonl" --retain-model retain --judge judge "${models[@]}" -o "$results/$method.json"
  done
  kill -TERM $SERVER_PID; wait $SERVER_PID 2>/dev/null || true
  trap - EXIT
}

# Validation: every configuration of every method, one seed.
entries=()
for m in $METHODS; do
  for spec in $(grid "$m"); do unlearn_job "$m" "$spec" val "$VAL_SEED" "$WORK/val/$m/$(config_name "$spec")"; done
done | run_jobs
for m in $METHODS; do for spec in $(grid "$m"); do c="$(config_name "$spec")"; entries+=("$m~$c=$WORK/val/$m/$c"); done; done
serve_and_evaluate val "$WORK/results/val" "${entries[@]}"
evaluate select --corpus --results "$WORK/results/val"/*.json -o "$WORK/selected-val.txt"

# Fluent forgetting by design (docs/METHODS.md, *Books benchmark*): the chosen ULD assistant of validation under each
# decode rule — SuppressOnly (what is served) and the paper's Difference with relative-top r — at its calibrated α and at
# fixed α, scored like everything else; the rule the test runs are served with is chosen here, on validation only.
rule_study() {
  local c dir alpha results="$WORK/results/val-rules"
  [ -f "$results/uld.json" ] && return 0
  c="$(awk '$1 == "uld" { print $2 }' "$WORK/selected-val.txt")"
  dir="$WORK/val/uld/$c"
  alpha="$(sed -n 's/.*"recommended_alpha": *\([0-9.]*\).*/\1/p' "$dir/manifest.json")"
  mkdir -p "$results"
  local args=(--urls "http://127.0.0.1:$PORT" --LogitServer:MaxBatchSize=64
    --LogitServer:Deployments:0:Name=judge --LogitServer:Deployments:0:Kind=Plain --LogitServer:Deployments:0:Model="$WORK/base"
    --LogitServer:Deployments:1:Name=target --LogitServer:Deployments:1:Kind=Plain --LogitServer:Deployments:1:Model="$WORK/target"
    --LogitServer:Deployments:2:Name=retain --LogitServer:Deployments:2:Kind=Plain --LogitServer:Deployments:2:Model="$WORK/retain-val")
  local i=3 rule
  for rule in SuppressOnly Difference; do
    args+=(--LogitServer:Deployments:$i:Name="uld-$rule" --LogitServer:Deployments:$i:Kind=Uld --LogitServer:Deployments:$i:Base="$WORK/target"
      --LogitServer:Deployments:$i:Assistant="$dir" --LogitServer:Deployments:$i:Rule="$rule" --LogitServer:Deployments:$i:AlphaMin=0
      --LogitServer:Deployments:$i:AlphaMax=4 --LogitServer:Deployments:$i:AlphaDefault="$alpha" --LogitServer:Deployments:$i:RelativeTopMin=0
      --LogitServer:Deployments:$i:RelativeTopMax=1 --LogitServer:Deployments:$i:RelativeTopDefault=0)
    i=$((i + 1))
  done
  echo "==> decode rules of uld~$c on val (calibrated α $alpha)"
  dotnet "$BIN/LogitServer/uld-logitserver.dll" "${args[@]}" > "$results/logitserver.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
  evaluate corpus --url "http://127.0.0.1:$PORT" --forget "$BOOK/val-forget.jsonl" --retain "$BOOK/retain-eval.jsonl" \
    --holdout "$BOOK/val-holdout.jsonl" --retain-model retain --judge judge -m target -m retain \
    -m "uld-SuppressOnly@$alpha@0" -m uld-SuppressOnly@1@0 -m uld-SuppressOnly@1.25@0 -m uld-SuppressOnly@1.5@0 -m uld-SuppressOnly@2@0 -m uld-SuppressOnly@3@0 \
    -m "uld-Difference@$alpha@0.1" -m uld-Difference@1@0.1 -m uld-Difference@2@0.1 -m uld-Difference@1@0.3 -m uld-Difference@2@0.3 \
    -o "$results/uld.json"
  kill -TERM $SERVER_PID; wait $SERVER_PID 2>/dev/null || true
  trap - EXIT
}
rule_study
# bench/results/books-rules.md quotes $WORK/results/val-rules/uld.md under a summary of what it shows.

# Test: each method's chosen configuration, every seed (seed-major, so a shortened run has every method at the same seeds).
for s in $SEEDS; do
  while read -r m c; do unlearn_job "$m" "$(cat "$WORK/val/$m/$c.config")" test "$s" "$WORK/test/$m/seed$s"; done < "$WORK/selected-val.txt"
done | run_jobs
entries=()
while read -r m c; do for s in $SEEDS; do entries+=("$m~seed$s=$WORK/test/$m/seed$s"); done; done < "$WORK/selected-val.txt"
serve_and_evaluate test "$WORK/results/test" "${entries[@]}"

evaluate report --books --work "$WORK" -o "$REPORT"
