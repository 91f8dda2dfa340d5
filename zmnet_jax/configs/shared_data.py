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

"""The real recipe: content photos and WikiArt + DTD styles from ../shared/data.

Validation stylizes content/val with the held-out paintings of style/val. Run (accelerator):

  python -m zmnet_jax.train --config shared_data --workdir runs/shared
  python -m zmnet_jax.train --config shared_data:tiny --workdir runs/tiny_shared   # CPU

The four folders are under `--config.data.root` (default ../shared/data, relative to the
directory you run from); each can also be set alone (--config.data.content_dir, style_dir,
content_val_dir, style_val_dir).
"""

import ml_collections

from zmnet_jax.configs import default

DEFAULT_ROOT = '../shared/data'


def use_shared_data(config: ml_collections.ConfigDict) -> ml_collections.FieldReference:
  """The data folders under `config.data.root`; returns that root's reference, so that
  other paths under it follow `--config.data.root` too."""
  config.data.source = 'folders'
  config.data.root = ml_collections.FieldReference(DEFAULT_ROOT)
  root = config.data.get_ref('root')
  config.data.content_dir = root + '/content/train'
  config.data.style_dir = root + '/style/train'
  config.data.content_val_dir = root + '/content/val'
  config.data.style_val_dir = root + '/style/val'
  return root


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """`arg` 'tiny' is the CPU-sized variant (images stored small, 128 px)."""
  config = default.get_config(arg)
  use_shared_data(config)
  if arg == 'tiny':
    config.data.store_short_side = 128
  else:
    config.eval.image_size = 512  # the quality protocol's scale (val512)
  return config
