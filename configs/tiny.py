"""Tiny CPU variant for tests and smoke runs: 64 px, slim TNet, a few seconds per step.

  python -m zmnet_jax.train --config configs/tiny.py --workdir runs/tiny
  python -m zmnet_jax.train --config configs/tiny.py:shared --workdir runs/tiny_shared
"""

import ml_collections

from configs import default, shared_data


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """`arg` 'shared' trains on ../shared/data instead of the embedded images."""
  config = default.get_config('runlocal')
  if arg == 'shared':
    shared_data.use_shared_data(config)
    config.data.store_short_side = 128
  return config
