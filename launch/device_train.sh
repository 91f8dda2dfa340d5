#!/usr/bin/env bash
# Copyright 2026 The zmnet_jax Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
#
# Trains the release on an offline CUDA machine from a bundle (launch/device_bundle.py),
# from the repository root, and leaves the exported model where the caller collects it:
#   OUT=/path/out BUNDLE=.device_bundle SECONDS_BUDGET=420 launch/device_train.sh [--config.x=y ...]
# (CONFIG=release_gpu:tiny runs the recipe at CPU size: the script's own smoke test.)
# Writes $OUT/model.safetensors, $OUT/metrics.jsonl, $OUT/eval.json, $OUT/runs.jsonl and
# $OUT/train.log. Python packages the machine lacks are installed from $BUNDLE/wheels, if
# there, into /tmp/zmnet_site (nothing system-wide).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle="${BUNDLE:-.device_bundle}"
out="${OUT:?set OUT to the folder that comes back}"
budget="${SECONDS_BUDGET:-420}"
python="${PYTHON:-python3}"
if compgen -G "$bundle/wheels/*.whl" > /dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/zmnet_site "$bundle"/wheels/*.whl
  export PYTHONPATH="/tmp/zmnet_site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export ZMNET_JAX_CACHE="${ZMNET_JAX_CACHE:-/tmp/zmnet_cache}"
workdir="${WORKDIR:-/tmp/zmnet_run}"
mkdir -p "$out"
"$python" -c 'import jax; print("devices:", jax.devices())' 2>&1 | tee "$out/train.log"
set +e
"$python" -m zmnet_jax.train --config "${CONFIG:-release_gpu}" --config.bundle="$bundle" \
  --workdir "$workdir" \
  --config.train.max_seconds="$budget" "$@" 2>&1 | tee -a "$out/train.log"
status=${PIPESTATUS[0]}
set -e
for f in model.safetensors metrics.jsonl eval.json runs.jsonl; do
  if [ -f "$workdir/$f" ]; then cp "$workdir/$f" "$out/"; fi
done
exit "$status"
