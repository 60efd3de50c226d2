#!/usr/bin/env bash
# ULD with a prior, on the books benchmark (docs/METHODS.md, *ULD with a prior*): the assistants bench/books.sh trained
# for ULD, served through the offset kind as l_target + β·(l_prior − l_assistant), the prior being the model the target
# was fine-tuned from (stories260K), which never saw the book. Where the assistant suppresses a memorised token, the
# next one comes from a model that writes stories rather than from the tail of an overfit target. No training: β is
# tuned over 4 values on the validation part with the books selection rule (the chosen ULD assistant of validation),
# the chosen β then serves the 3 test-seed assistants, and the results join bench/books.sh's (method "uld-prior"), so
# the report shows them beside every other method. Caveat stated in the report's docs: the judge of fluency is the
# same stories260K as the prior, which favours this method's fluency figure; VerbMem and PrivLeak are not affected.
#
#   bench/books-prior.sh [--work artifacts/books] [--seeds "1 2 3"] [--report bench/results/books.md]
#
# Run after bench/books.sh on the same --work; skips what exists.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BOOK=data/books
WORK=artifacts/books
SEEDS="1 2 3"
BETAS="1 1.5 2 2.5"
PORT="${PORT:-8193}"
REPORT=bench/results/books.md
while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --report) REPORT="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN="${BIN:-$WORK/bin-prior}"
build_apps LogitServer Eval
[ -f "$WORK/selected-val.txt" ] && [ -d "$WORK/test/uld" ] || { echo "run bench/books.sh --work $WORK first" >&2; exit 2; }
assistant_val="$WORK/val/uld/$(awk '$1 == "uld" { print $2 }' "$WORK/selected-val.txt")"

# serve_and_evaluate SET RESULTS_FILE NAME=ASSISTANT=BETA...: one LogitServer with the judge, the target, the set's retain
# model and one offset deployment per entry; uld-eval corpus over all of them into RESULTS_FILE.
serve_and_evaluate() {
  local set="$1" out="$2"; shift 2
  [ -f "$out" ] && return 0
  local args=(--urls "http://127.0.0.1:$PORT" --LogitServer:MaxBatchSize=64
    --LogitServer:Deployments:0:Name=judge --LogitServer:Deployments:0:Kind=Plain --LogitServer:Deployments:0:Model="$WORK/base"
    --LogitServer:Deployments:1:Name=target --LogitServer:Deployments:1:Kind=Plain --LogitServer:Deployments:1:Model="$WORK/target"
    --LogitServer:Deployments:2:Name=retain --LogitServer:Deployments:2:Kind=Plain --LogitServer:Deployments:2:Model="$WORK/retain-$set")
  local i=3 entry name rest models=(-m target -m retain)
  for entry in "$@"; do
    name="${entry%%=*}"; rest="${entry#*=}"
    args+=(--LogitServer:Deployments:$i:Name="$name" --LogitServer:Deployments:$i:Kind=Offset --LogitServer:Deployments:$i:Base="$WORK/target"
      --LogitServer:Deployments:$i:Reference="${rest%=*}" --LogitServer:Deployments:$i:Unlearned="$WORK/base"
      --LogitServer:Deployments:$i:BetaDefault="${rest##*=}" --LogitServer:Deployments:$i:BetaMin=0 --LogitServer:Deployments:$i:BetaMax=4)
    models+=(-m "$name")
    i=$((i + 1))
  done
  mkdir -p "$(dirname "$out")"
  echo "==> $set: ${*%%=*}"
  dotnet "$BIN/LogitServer/uld-logitserver.dll" "${args[@]}" > "$out.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "LogitServer did not start: $out.log" >&2; exit 1; }
  evaluate corpus --url "http://127.0.0.1:$PORT" --forget "$BOOK/$set-forget.jsonl" --retain "$BOOK/retain-eval.jsonl" \
    --holdout "$BOOK/$set-holdout.jsonl" --retain-model retain --judge judge "${models[@]}" -o "$out"
  kill -TERM $SERVER_PID; wait $SERVER_PID 2>/dev/null || true
  trap - EXIT
}

# Validation: β over the chosen validation assistant, the same rule as every method's configurations.
entries=()
for b in $BETAS; do entries+=("uld-prior~b$b=$assistant_val=$b"); done
# Kept out of results/val, whose every file bench/books.sh selects from (the report reads both).
serve_and_evaluate val "$WORK/results/val-prior/uld-prior.json" "${entries[@]}"
[ -f "$WORK/selected-prior.txt" ] || evaluate select --corpus --results "$WORK/results/val-prior/uld-prior.json" -o "$WORK/selected-prior.txt"
beta="$(awk '$1 == "uld-prior" { print substr($2, 2) }' "$WORK/selected-prior.txt")"
[ -n "$beta" ] || { echo "no uld-prior choice in $WORK/selected-prior.txt" >&2; exit 1; }

# Test: the chosen β with each test seed's ULD assistant (bench/books.sh must have finished). The choice stays in
# selected-prior.txt, which the report reads beside selected-val.txt.
entries=()
for s in $SEEDS; do
  [ -f "$WORK/test/uld/seed$s/manifest.json" ] || { echo "no ULD test assistant $WORK/test/uld/seed$s yet: let bench/books.sh finish" >&2; exit 2; }
  entries+=("uld-prior~seed$s=$WORK/test/uld/seed$s=$beta")
done
serve_and_evaluate test "$WORK/results/test/uld-prior.json" "${entries[@]}"

evaluate report --books --work "$WORK" -o "$REPORT"
