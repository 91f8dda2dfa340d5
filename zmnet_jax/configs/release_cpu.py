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

"""The recipe of the shipped `fast` model (v2): a slim TNet trained on 2 CPU cores.

Slim TNet (16, 32, 64) x 3 residual blocks, serial PNet of width 128, 128 px crops of the
../shared/data photos x 128 px crops of WikiArt + DTD styles resized to 512 px, batch 8
(~2.8 img/s on 2 cores). v2 is step 1,350 of the v1 recipe (`../shared/models/cpu128_slim`)
plus 30 minutes of this one; its long run goes on from the shipped params
(docs/model_v2.md). Run, or fine-tune the shipped model on your own styles:

  python -m zmnet_jax.train --config release_cpu --workdir runs/v2 \\
      --config.init_from=../shared/models/cpu128_slim --config.train.max_seconds=1800
  python -m zmnet_jax.train --config release_cpu --workdir runs/v2_long \\
      --config.init_from=zmnet_jax/pretrained/fast.safetensors --config.train.num_steps=6000
  python -m zmnet_jax.train --config release_cpu --workdir runs/mine \\
      --config.init_from=zmnet_jax/pretrained/fast.safetensors \\
      --config.data.style_dir=my/styles --config.train.num_steps=500

`:tiny` is the same model on tiny images, for tests.
"""

import ml_collections

from zmnet_jax.configs import default, shared_data


def slim_model(config: ml_collections.ConfigDict) -> None:
  """The shipped model's architecture (what its params fit)."""
  config.model.tnet.channels = (16, 32, 64)
  config.model.tnet.num_residual_blocks = 3
  config.model.pnet.width = 128


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  default.check_variant(arg)
  config = shared_data.get_config(arg)
  slim_model(config)
  if arg == 'tiny':
    return config
  # Styles at the scale they are used at: the paintings resized to 512 px (as val512 and
  # users see them) before the 128 px crop, so the strokes the loss asks for are the
  # strokes of a 512 px painting; PNet encodes the style at that scale too
  # (eval.style_size 512). At 144 px (model v1) the model learnt a fine texture that is
  # wrong at 512 px (docs/model_v2.md).
  config.data.update(
    content_size=128,
    style_size=128,
    resize_short_side=144,
    style_resize_short_side=512,
    store_short_side=512,
  )
  config.optim.warmup_steps = 200
  config.train.update(
    num_steps=20_000,
    batch_size=8,
    log_every=50,
    checkpoint_every=100,
    sample_every=400,
    eval_every=1000,
  )
  # At the protocol's scale (val512: 512 px, every score at one scale), on the 24 pairs
  # that fit in about two minutes; the protocol itself (zmnet-evaluate --protocol val512)
  # decides what ships.
  config.eval.update(num_contents=2, num_styles=12, image_size=512, style_size=512, batch_styles=2)
  return config
