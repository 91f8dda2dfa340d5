"""The real recipe: content photos and WikiArt + DTD styles from ../shared/data.

Validation stylizes content/val with the held-out paintings of style/val. Run (accelerator):

  python -m zmnet_jax.train --config configs/shared_data.py --workdir runs/shared \
      --config.data.root=/path/to/shared/data
"""

import ml_collections

from configs import default

DEFAULT_ROOT = '../shared/data'


def use_shared_data(config: ml_collections.ConfigDict, root: str = DEFAULT_ROOT) -> None:
  config.data.source = 'folders'
  config.data.content_dir = f'{root}/content/train'
  config.data.style_dir = f'{root}/style/train'
  config.data.content_val_dir = f'{root}/content/val'
  config.data.style_val_dir = f'{root}/style/val'


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  config = default.get_config(arg)
  use_shared_data(config)
  return config
