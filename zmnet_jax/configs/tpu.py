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

"""Cloud TPU slice (multi-host): global batch over all chips, bfloat16, jax.distributed.

launch/run_tpu.sh NAME ZONE tpu gs://BUCKET/runs/tpu   # see launch/README.md
"""

import ml_collections

from zmnet_jax.configs import default, shared_data


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """`arg` 'tiny': the recipe's settings on shared_data:tiny, in one process (a CPU smoke
  run; the slice's multi-host start is not part of it)."""
  default.check_variant(arg)
  config = shared_data.get_config(arg)
  config.dtype = 'bfloat16'
  if arg == 'tiny':
    return config
  config.distributed = True
  # From `python -m zmnet_jax.aot --config tpu --topology v5e:2x4 --find-batch`: 472 fits
  # a v5e-8 (14.1 of 16 GiB a chip), memory-bound at ~2,460 img/s; 384 keeps headroom
  # (launch/README.md). Data parallel: the gradients are 10 MiB, all-reduced once.
  config.train.batch_size = 384
  config.optim.learning_rate = 2e-3
  config.data.num_workers = 16
  return config
