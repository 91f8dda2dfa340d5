"""Cloud TPU slice (multi-host): global batch over all chips, bfloat16, jax.distributed.

  launch/run_tpu.sh NAME ZONE tpu gs://BUCKET/runs/tpu   # see launch/README.md
"""

import ml_collections

from zmnet_jax.configs import default, shared_data


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  default.check_variant(arg, variants=())
  config = shared_data.get_config()
  config.dtype = 'bfloat16'
  config.distributed = True
  config.train.batch_size = 128
  config.optim.learning_rate = 2e-3
  config.data.num_workers = 16
  return config
