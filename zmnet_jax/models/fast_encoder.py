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

"""The fast style encoder: a small CNN that reads a style in place of VGG + PNet's encoder.

    style [N, size, size, 3] in [0, 1] --FastStyleEncoder--> PNet embedding [N, E]

It is distilled (`zmnet_jax.training.distill`) to predict the embedding that the model's
own encoder (VGG19 to relu4_1 at `eval.style_size`, then `ImageSignalEncoder`) gives the
same style at twice the side, so PNet's DIN heads read its output unchanged. Four conv
stages (a 4x4 stride-4 stem, then 3x3 convs, widths w, 2w, 4w), each pooled globally into
per-channel mean and standard deviation, then LayerNorm and two dense layers: at 256 px and
w = 48 about 0.7 GFLOP, against ~126 GFLOP for VGG at 512 px.

Styles are read as `image_arrays.square(style, size)` (short side resized, central square), one
shape, one compile.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

PARAMS_KEY = 'fast_encoder'  # its params' top-level name in a params file
IMAGE_MEAN, IMAGE_STD = 0.45, 0.25  # input scaling of [0, 1] pixels
STD_EPS = 1e-5


@dataclasses.dataclass(frozen=True)
class FastEncoderConfig:
  """The student's shape: base width, hidden width, and the side it reads styles at."""

  width: int = 48
  hidden: int = 256
  size: int = 256

  @classmethod
  def from_config(cls, cfg: Mapping[str, Any]) -> FastEncoderConfig:
    return cls(**dict(cfg))


def pooled_statistics(x: jax.Array) -> list[jax.Array]:
  """Per-channel spatial mean and standard deviation, [N, C] each."""
  x = x.astype(jnp.float32)
  return [jnp.mean(x, axis=(1, 2)), jnp.sqrt(jnp.var(x, axis=(1, 2)) + STD_EPS)]


# The convs in forward order: (name, width in units of `width`, kernel, stride, padding),
# and those whose (relu) outputs are pooled. The ONNX graph rebuilds the same recipe.
CONVS = (
  ('stem', 1, 4, 4, 0),
  ('conv1', 1, 3, 1, 1),
  ('down2', 2, 3, 2, 1),
  ('conv2', 2, 3, 1, 1),
  ('down3', 4, 3, 2, 1),
  ('conv3', 4, 3, 1, 1),
)
POOLED_AFTER = ('stem', 'down2', 'down3', 'conv3')


class FastStyleEncoder(nn.Module):
  """Style images [N, H, W, 3] in [0, 1] -> embeddings [N, embedding_dim]."""

  embedding_dim: int
  config: FastEncoderConfig = FastEncoderConfig()

  @nn.compact
  def __call__(self, styles: jax.Array) -> jax.Array:
    x = (styles.astype(jnp.float32) - IMAGE_MEAN) / IMAGE_STD
    pooled = []
    for name, units, kernel, stride, pad in CONVS:
      conv = nn.Conv(
        units * self.config.width, (kernel, kernel), stride, ((pad, pad), (pad, pad)), name=name
      )
      x = nn.relu(conv(x))
      if name in POOLED_AFTER:
        pooled += pooled_statistics(x)
    h = nn.LayerNorm(name='pool_norm')(jnp.concatenate(pooled, axis=-1))
    h = nn.relu(nn.Dense(self.config.hidden, name='hidden')(h))
    return nn.Dense(self.embedding_dim, name='embed')(h)


def with_output_scale(params, mean, std):
  """Params whose output is `output * std + mean` (the training targets' normalization
  folded into the last layer, so the shipped encoder predicts embeddings directly)."""
  embed = params['params']['embed']
  embed = {'kernel': embed['kernel'] * std[None, :], 'bias': embed['bias'] * std + mean}
  return {'params': {**params['params'], 'embed': embed}}
