"""One or more local GPUs: larger global batch, bfloat16 compute, shared-data recipe.

  python -m zmnet_jax.train --config gpu --workdir runs/gpu
  launch/run_gpu.sh gpu runs/gpu      # creates the venv first
"""

import ml_collections

from zmnet_jax.configs import default, shared_data


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  default.check_variant(arg, variants=())
  config = shared_data.get_config()
  config.dtype = 'bfloat16'
  config.train.batch_size = 32
  config.data.num_workers = 8
  return config
