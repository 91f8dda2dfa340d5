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
# Train on a local (multi-)GPU box: builds a CUDA venv once, then runs the trainer on all
# visible GPUs (one process; the 'data' mesh axis spans them).
#   launch/run_gpu.sh [CONFIG] [WORKDIR] [--config.field=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-gpu}"; workdir="${2:-runs/gpu}"; shift $(( $# > 2 ? 2 : $# ))
venv="${VENV:-.venv-gpu}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r requirements.txt -e .
  "$venv/bin/pip" install -q "jax[cuda12]==$("$venv/bin/python" -c 'import jax; print(jax.__version__)')"
fi
exec "$venv/bin/python" -m zmnet_jax.train --config "$config" --workdir "$workdir" "$@"
