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
# N training processes on this machine as one multi-process run (CPU, gloo collectives):
#
#   launch/local_multihost.sh N CONFIG WORKDIR [--config.x=y ...]
#   launch/local_multihost.sh 2 default:tiny runs/multihost --config.train.num_steps=20
#
# Each process gets DEVICES fake CPU devices (default 2; the mesh spans all N x DEVICES,
# which must divide train.batch_size: tiny's 4 fits 2 x 2),
# reads its own shard of the data and logs to WORKDIR/process_<i>.log; process 0 writes
# metrics, samples and checkpoints. PORT (default 12355) is the coordinator's port. Exits
# with the first failing process' status (after stopping the others).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 N CONFIG WORKDIR [--config.x=y ...]" >&2
  exit 2
fi
num="$1"; config="$2"; workdir="$3"; shift 3
devices="${DEVICES:-2}"
port="${PORT:-12355}"
python="${PYTHON:-python}"
mkdir -p "$workdir"
pids=()
for ((i = 0; i < num; i++)); do
  XLA_FLAGS="--xla_force_host_platform_device_count=$devices ${XLA_FLAGS:-}" \
  JAX_PLATFORMS=cpu \
  JAX_COORDINATOR_ADDRESS="127.0.0.1:$port" JAX_NUM_PROCESSES="$num" JAX_PROCESS_ID="$i" \
    "$python" -m zmnet_jax.train --config "$config" --workdir "$workdir" "$@" \
    > "$workdir/process_$i.log" 2>&1 &
  pids+=("$!")
done
status=0
for i in "${!pids[@]}"; do
  code=0
  wait "${pids[$i]}" || code=$?
  if [ "$code" -ne 0 ]; then
    if [ "$status" -eq 0 ]; then
      status=$code
      echo "process $i failed (status $code); see $workdir/process_$i.log" >&2
      kill "${pids[@]}" 2>/dev/null || true
    fi
  fi
done
[ "$status" -eq 0 ] && echo "$num processes x $devices devices finished; logs: $workdir/process_*.log"
exit "$status"
