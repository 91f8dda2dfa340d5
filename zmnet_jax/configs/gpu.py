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

"""One or more local GPUs: larger global batch, bfloat16 compute, shared-data recipe.

python -m zmnet_jax.train --config gpu --workdir runs/gpu
launch/run_gpu.sh gpu runs/gpu      # creates the venv first
"""

import ml_collections

from zmnet_jax.configs import default, shared_data


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """`arg` 'tiny': the recipe's settings on shared_data:tiny (a CPU smoke run)."""
  default.check_variant(arg)
  config = shared_data.get_config(arg)
  config.dtype = 'bfloat16'
  if arg == 'tiny':
    return config
  config.train.batch_size = 32
  config.data.num_workers = 8
  return config
