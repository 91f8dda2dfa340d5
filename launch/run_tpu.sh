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
# Train on a Cloud TPU VM slice: copies the repo to every worker, bootstraps a venv with
# jax[tpu] + requirements on each, and starts the trainer on all workers at once
# (the tpu config sets distributed=True, so each worker calls jax.distributed.initialize()).
#   launch/run_tpu.sh TPU_NAME ZONE [CONFIG] [WORKDIR] [--config.field=value ...]
# WORKDIR should be a gs:// path (or a shared filesystem) visible to every worker.
set -euo pipefail
name="$1"; zone="$2"; config="${3:-tpu}"; workdir="${4:-gs://YOUR_BUCKET/zmnet/tpu}"
shift $(( $# > 4 ? 4 : $# ))
extra="$*"
repo="$(cd "$(dirname "$0")/.." && pwd)"
tar -C "$repo" --exclude=.git --exclude='.venv*' --exclude=runs -czf /tmp/zmnet_jax.tgz .
gcloud compute tpus tpu-vm scp /tmp/zmnet_jax.tgz "$name":~/ --zone "$zone" --worker=all
gcloud compute tpus tpu-vm ssh "$name" --zone "$zone" --worker=all --command "
  set -e
  mkdir -p ~/zmnet_jax && tar -C ~/zmnet_jax -xzf ~/zmnet_jax.tgz && cd ~/zmnet_jax
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q -r requirements.txt -e .
    .venv/bin/pip install -q \"jax[tpu]==\$(.venv/bin/python -c 'import jax; print(jax.__version__)')\"
  fi
  nohup .venv/bin/python -m zmnet_jax.train --config $config --workdir $workdir $extra \
      > ~/train.log 2>&1 &
  echo started on \$(hostname)"
echo "follow with: gcloud compute tpus tpu-vm ssh $name --zone $zone --worker=0 --command 'tail -f ~/train.log'"
