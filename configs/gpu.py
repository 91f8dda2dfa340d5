"""One or more local GPUs: larger global batch, bfloat16 compute, shared-data recipe.

  python -m zmnet_jax.train --config configs/gpu.py --workdir runs/gpu
  launch/run_gpu.sh configs/gpu.py runs/gpu      # creates the venv first
"""

import ml_collections

from configs import shared_data


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  config = shared_data.get_config(arg)
  config.dtype = 'bfloat16'
  config.train.batch_size = 32
  config.data.num_workers = 8
  return config
