#!/usr/bin/env bash
# The engine on a GPU (issue 19): a short subset of the engine tests with NNLAB_TEST_DEVICE=cuda (runs on device
# "auto" train on CUDA), one CUDA training run from the command line and the quick benchmark on CUDA.
# Usage: bash .ci/gpu-check.sh   (PYTHON=... picks the interpreter; output also goes under $OUT when it is set)
# Every step runs even when one before it failed; the exit status is 1 when any failed. See docs/testing.md.
set -uo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
LOG_DIR="${OUT:-test-artifacts}/gpu-check"
mkdir -p "$LOG_DIR"
export NNLAB_TEST_DEVICE=cuda
failed=0

step() {  # step NAME SECONDS COMMAND...: run it with a time limit, keep its output, note a failure
  local name="$1" limit="$2"
  shift 2
  echo "== $name: $*"
  timeout "$limit" "$@" >"$LOG_DIR/$name.txt" 2>"$LOG_DIR/$name.err"
  local rc=$?
  tail -c 3000 "$LOG_DIR/$name.txt"
  tail -n 10 "$LOG_DIR/$name.err"
  echo "== $name: exit $rc"
  [ "$rc" -eq 0 ] || failed=1
}

step device 60 "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'available', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
step engine-tests 300 "$PY" -m pytest tests/test_train.py tests/test_models.py tests/test_reproducible.py \
  -q -p no:cacheprovider --durations=5
step cli-cnn 180 "$PY" -m core train --dataset digits --model cnn --device cuda --json
if [ -s "$LOG_DIR/cli-cnn.txt" ]; then  # the run's device, accuracy and time, in one line
  "$PY" -c "import json, sys; r = json.load(open(sys.argv[1])); print('device', r['config']['run']['device'], \
'test accuracy', r['metrics']['test']['accuracy'], 'seconds', r['seconds'])" "$LOG_DIR/cli-cnn.txt" || failed=1
fi
step bench 300 "$PY" -m core bench --quick --device cuda --json
exit "$failed"
