# Shell pieces the benchmark scripts share (sourced, not run): the build they run from, the two CLIs, the names of
# grid configurations and the parallel runner of unlearning jobs.

# Builds the solution and copies the named apps' Release output under $BIN (default $WORK/bin): a long run works from
# the copy, so rebuilding while it runs cannot swap assemblies under it.
build_apps() {
  echo "==> building (Release)"
  dotnet build UldServer.sln -c Release -v quiet -nologo >/dev/null
  BIN="${BIN:-$WORK/bin}"
  rm -rf "$BIN" && mkdir -p "$BIN"
  local p
  for p in "$@"; do cp -r "src/apps/$p/bin/Release/net10.0" "$BIN/$p"; done
}

# $BIN's copies of the apps (BIN=DIR runs other builds: Trainer/, Eval/ … copies of bin/Release/net10.0).
trainer() { dotnet "$BIN/Trainer/uld-trainer.dll" "$@"; }
evaluate() { dotnet "$BIN/Eval/uld-eval.dll" "$@"; }

# A grid configuration "lr=5e-4,steps=10" as a directory name: "lr5e-4_steps10".
config_name() { echo "$1" | tr -d '=' | tr ',' '_'; }

# Runs the commands on stdin, $JOBS at a time; fails if any failed (a failed job prints "FAILED: …").
run_jobs() {
  local jobs failures
  jobs="$(cat)"
  [ -z "$jobs" ] && return 0
  echo "==> $(grep -c . <<< "$jobs") unlearning runs, $JOBS at a time"
  failures="$(printf '%s\n' "$jobs" | xargs -d '\n' -P "$JOBS" -I{} bash -c {})"
  [ -z "$failures" ] || { echo "$failures" >&2; exit 1; }
}
