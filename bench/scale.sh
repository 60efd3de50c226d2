#!/usr/bin/env bash
# Model size against memory and speed, for random-weight models of real shapes (bench/configs/*.json):
#   bench/scale.sh WORK_DIR SHAPE... > bench/results/scale.md      SHAPE = name:config.json:tokenizer_dir[:serve-formats]
# Per shape: `uld-trainer init` (writes safetensors + fp32 ONNX, checked against TorchSharp), `export-onnx` again,
# `package --weights int8|int4`, `truncate -k 2` (the ULD assistant); then one uld-logitserver serving `plain` and
# `uld` (same base) per weight format listed (default fp32): peak RSS, prefill of 256 tokens, decode tok/s at 1 and
# 8 streams. Time and peak RSS come from /usr/bin/time; every step runs under nice. Needs curl and python3.
set -euo pipefail
work=$1; shift
repo=$(cd "$(dirname "$0")/.." && pwd)
# TRAINER / SERVER override the builds (e.g. copies, so that a rebuild cannot change them mid-run).
trainer=${TRAINER:-$repo/src/apps/Trainer/bin/Release/net10.0/uld-trainer}
server=${SERVER:-$repo/src/apps/LogitServer/bin/Release/net10.0/uld-logitserver.dll}
port=18473
mkdir -p "$work"

timed() { # timed LOG CMD... → "seconds peak_MiB"
  local log=$1; shift
  nice -n 10 /usr/bin/time -f "%e %M" -o "$log.time" "$@" > "$log" 2>&1 || { echo "failed: $* (see $log)" >&2; exit 1; }
  awk '{printf "%.0f s | %.2f GiB", $1, $2/1048576}' "$log.time"
}
size() { du -cb "$1"/onnx/* | awk 'END {printf "%.2f GB", $1/1e9}'; }

post() { # post MODEL JSON_PROMPT MAX_TOKENS → wall seconds
  curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
    -d "{\"model\":\"$1\",\"prompt\":$2,\"max_tokens\":$3,\"temperature\":0}"
}

serve() { # serve BASE ASSISTANT → one markdown row fragment per deployment
  local base=$1 assistant=$2
  nice -n 10 dotnet "$server" --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning \
    --LogitServer:Deployments:0:Name=plain --LogitServer:Deployments:0:Kind=Plain --LogitServer:Deployments:0:Model="$base" \
    --LogitServer:Deployments:1:Name=uld --LogitServer:Deployments:1:Kind=Uld \
    --LogitServer:Deployments:1:Base="$base" --LogitServer:Deployments:1:Assistant="$assistant" > "$work/server.log" 2>&1 &
  local pid=$!
  trap 'kill "$pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.5; done
  local long short
  long=$(python3 -c 'print([1] + [(7919 * i + 13) % 30000 + 100 for i in range(255)])')
  short='[1, 450, 3309, 975]'
  for model in plain uld; do post "$model" "$short" 4 > /dev/null; done # warm-up
  for model in plain uld; do
    local prefill one sixteen eight start end
    prefill=$(post "$model" "$long" 1)
    one=$(post "$model" "$short" 1)
    sixteen=$(post "$model" "$short" 17)
    start=$(date +%s.%N)
    for i in $(seq 1 8); do post "$model" "[1, $((400 + i)), 3309, 975]" 17 > /dev/null & done
    wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
    end=$(date +%s.%N)
    python3 -c "print(f'| $model | {($prefill - $one) * 1000:.0f} | {16 / ($sixteen - $one):.1f} | {8 * 17 / ($end - $start):.1f} |')"
  done > "$work/serve.rows"
  local hwm rss
  hwm=$(awk '/VmHWM/ {printf "%.2f", $2/1048576}' "/proc/$pid/status")
  rss=$(awk '/VmRSS/ {printf "%.2f", $2/1048576}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  trap - EXIT
  echo "$hwm|$rss"
}

echo "# Scale: random-weight models of real shapes"
echo
echo "\`bench/scale.sh $work $*\` on $(nproc) cores, $(date -u +%F). Times are wall clock under nice on a shared machine."
echo
echo "| shape | parameters | init (safetensors + ONNX + check) s | init peak RSS | export-onnx s | export peak RSS | ONNX fp32 | package int8 s | package int8 peak RSS | ONNX int8 | package int4 s | package int4 peak RSS | ONNX int4 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
serving=()
for spec in "$@"; do
  IFS=: read -r name config tokenizer formats <<< "$spec"
  dir="$work/$name"
  init=$(timed "$work/$name-init.log" "$trainer" init --config "$config" --tokenizer "$tokenizer" -o "$dir" --force)
  params=$(python3 -c "import os; print(f'{os.path.getsize(\"$dir/model.safetensors\") / 4e6:.0f}M')")
  export=$(timed "$work/$name-export.log" "$trainer" export-onnx -m "$dir")
  fp32=$(size "$dir")
  q8=$(timed "$work/$name-int8.log" "$trainer" package -m "$dir" -o "$dir-int8" --weights int8 --force)
  q4=$(timed "$work/$name-int4.log" "$trainer" package -m "$dir" -o "$dir-int4" --weights int4 --force)
  echo "| $name | $params | $init | $export | $fp32 | $q8 | $(size "$dir-int8") | $q4 | $(size "$dir-int4") |"
  timed "$work/$name-truncate.log" "$trainer" truncate --base "$dir" -k 2 -o "$dir-k2" --force > /dev/null
  for format in ${formats:-fp32}; do
    base=$dir; [ "$format" = fp32 ] || base="$dir-$format"
    memory=$(serve "$base" "$dir-k2")
    while read -r row; do serving+=("| $name | $format | ${memory%|*} | ${memory#*|} $row"); done < "$work/serve.rows"
  done
done
echo
echo "Serving: one uld-logitserver with \`plain\` (the base) and \`uld\` (the base + its first 2 layers as a float32"
echo "assistant, α = 1), both deployments sharing one base session. Peak and current RSS after all requests; prefill = a"
echo "256-token prompt minus a 4-token one (1 new token each); decode = 16 tokens, 1 stream; 8 streams = 8 concurrent"
echo "17-token completions, tokens over wall time."
echo
echo "| shape | weights | server peak RSS, GiB | RSS after, GiB | deployment | prefill 256 ms | decode tok/s, 1 stream | tok/s, 8 streams |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${serving[@]}"
