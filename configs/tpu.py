"""Cloud TPU slice (multi-host): global batch over all chips, bfloat16, jax.distributed.

  launch/run_tpu.sh NAME ZONE configs/tpu.py gs://BUCKET/runs/tpu   # see launch/README.md
"""

import ml_collections

from configs import shared_data


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  config = shared_data.get_config(arg)
  config.dtype = 'bfloat16'
  config.distributed = True
  config.train.batch_size = 128
  config.optim.learning_rate = 2e-3
  config.data.num_workers = 16
  return config
