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

"""ZM-Net: TNet (image transformation network) conditioned by PNet (parameter network).

Data flow::

    signal (style image features or word vector) --PNet--> {layer: (gamma, beta)}
    content image --TNet(conv filters; DIN layers use gamma, beta)--> output image

The one contract between the two networks is `conditioned_layers(tnet_config)`: the ordered
list of TNet's dynamic-instance-norm layers with their channel counts. PNet emits exactly
that tree and TNet consumes it, so changing TNet's width changes both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from zmnet_jax.models.convs import ReflectConv, UpsampleConv, upsample_nearest

DinParams = dict[str, tuple[jax.Array, jax.Array]]  # {layer: (gamma [N,C], beta [N,C])}
PRENORM_COLLECTION = 'din_inputs'  # each DIN layer's input, sown only when asked for.

# VGG activations the image-signal encoder reads (first relu of each block).
STYLE_ENCODER_LAYERS = ('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1')


@dataclasses.dataclass(frozen=True)
class TNetConfig:
  """Shape of the transformation network (Johnson et al. 2016 by default)."""

  channels: tuple[int, int, int] = (32, 64, 128)
  num_residual_blocks: int = 5
  eps: float = 1e-5
  base_affine: bool = False
  fast_padding: bool = True

  @classmethod
  def from_config(cls, cfg: Mapping[str, Any] | None) -> TNetConfig:
    cfg = dict(cfg or {})
    if 'channels' in cfg:
      cfg['channels'] = tuple(cfg['channels'])
    return cls(**cfg)


def conditioned_layers(config: TNetConfig) -> list[tuple[str, int]]:
  """TNet's DIN layers in forward order as (name, channels): the PNet/TNet contract."""
  c1, c2, c3 = config.channels
  layers = [('conv1', c1), ('conv2', c2), ('conv3', c3)]
  for i in range(config.num_residual_blocks):
    layers += [(f'res{i + 1}_a', c3), (f'res{i + 1}_b', c3)]
  layers += [('up1', c2), ('up2', c1)]
  return layers


def receptive_radius(config: TNetConfig) -> int:
  """Input pixels on each side that one TNet output pixel depends on (an upper bound).

  conv1 9x9 (4), conv2 and conv3 3x3 stride 2 (1 + 2), two 3x3 convs per residual block
  at 1/4 resolution (8 each), up1 and up2 nearest x2 + 3x3 (4 + 2), conv_out 9x9 (4).
  """
  return 4 + 1 + 2 + 8 * config.num_residual_blocks + 4 + 2 + 4


# ----------------------------------------------------------------------------- layers


def instance_statistics(x: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Per-sample, per-channel spatial mean and variance in float32: ([N, C], [N, C])."""
  x32 = x.astype(jnp.float32)
  return jnp.mean(x32, axis=(1, 2)), jnp.var(x32, axis=(1, 2))


def dynamic_instance_norm(x, gamma, beta, eps: float = 1e-5, stats=None):
  """DIN: `gamma * (x - mean) / sqrt(var + eps) + beta`, gamma/beta per sample: [N, C],
  or per pixel: [N, H, W, C] (a map of the layer's size, e.g. regions with their own
  signals).

  `stats` = (mean, var) [N, C] replaces the statistics of `x` itself: tiled inference
  normalizes every tile with the statistics of the whole image.
  """
  mean, var = instance_statistics(x) if stats is None else stats
  per_pixel = lambda p: (p[:, None, None, :] if p.ndim == 2 else p).astype(jnp.float32)
  scale = per_pixel(gamma) * per_pixel(jax.lax.rsqrt(var.astype(jnp.float32) + eps))
  shift = per_pixel(beta) - per_pixel(mean.astype(jnp.float32)) * scale
  return (x.astype(jnp.float32) * scale + shift).astype(x.dtype)


class TNet(nn.Module):
  """Image transformation network whose normalization layers are DIN.

  Input: content images [N, H, W, 3] in [0, 1], H and W multiples of 4, and DIN
  parameters from PNet. Output: images in [0, 1] of the same size. Each DIN layer's
  input is sown into `PRENORM_COLLECTION` (kept only when that collection is mutable).
  """

  config: TNetConfig = TNetConfig()
  dtype: Any = jnp.float32
  # {layer: (mean, var) [N, C]}: normalize with these instead of each input's own
  # (layers missing from the mapping use their input's own statistics).
  stats: Mapping[str, tuple[jax.Array, jax.Array]] | None = None

  def _din(self, x, din: DinParams, name: str):
    gamma, beta = din[name]
    if self.config.base_affine:
      channels = x.shape[-1]
      gamma = gamma + self.param(f'{name}_scale', nn.initializers.zeros, (channels,))
      beta = beta + self.param(f'{name}_shift', nn.initializers.zeros, (channels,))
    self.sow(PRENORM_COLLECTION, f'{name}_input', x, reduce_fn=lambda _, new: new)
    stats = self.stats[name] if self.stats and name in self.stats else instance_statistics(x)
    return dynamic_instance_norm(x, gamma, beta, self.config.eps, stats)

  def _conv(self, features, kernel_size, name, stride=1):
    return ReflectConv(
      features, kernel_size, stride, self.config.fast_padding, self.dtype, name=name
    )

  def _conv_din_relu(self, x, din, name, features, kernel_size, stride=1):
    x = self._conv(features, kernel_size, name, stride)(x)
    return nn.relu(self._din(x, din, name))

  @nn.compact
  def __call__(self, images: jax.Array, din: DinParams) -> jax.Array:
    check_image_size(images.shape)
    c1, c2, c3 = self.config.channels
    x = images.astype(self.dtype)
    x = self._conv_din_relu(x, din, 'conv1', c1, 9)
    x = self._conv_din_relu(x, din, 'conv2', c2, 3, stride=2)
    x = self._conv_din_relu(x, din, 'conv3', c3, 3, stride=2)
    for i in range(self.config.num_residual_blocks):
      y = self._conv_din_relu(x, din, f'res{i + 1}_a', c3, 3)
      y = self._conv(c3, 3, f'res{i + 1}_b')(y)
      x = x + self._din(y, din, f'res{i + 1}_b')
    for name, features in (('up1', c2), ('up2', c1)):
      if self.config.fast_padding:
        x = UpsampleConv(features, self.dtype, name=name)(x)
      else:
        x = self._conv(features, 3, name)(upsample_nearest(x, 2))
      x = nn.relu(self._din(x, din, name))
    x = self._conv(3, 9, 'conv_out')(x)
    return nn.sigmoid(x.astype(jnp.float32))


def check_image_size(shape: Sequence[int]) -> None:
  """TNet halves the resolution twice and doubles it twice: sides must divide by 4."""
  if len(shape) != 4 or shape[-1] != 3:
    raise ValueError(f'TNet expects images shaped [N, H, W, 3], got {tuple(shape)}')
  height, width = shape[1:3]
  if height % 4 or width % 4 or height < 8 or width < 8:
    raise ValueError(
      f'TNet needs height and width that are multiples of 4 (at least 8), got '
      f'{height}x{width}; pad the image first (zmnet_jax.infer does this for you)'
    )


# ----------------------------------------------------------------------------- PNet


class ResidualMLPBlock(nn.Module):
  """x + Dense(relu(Dense(LayerNorm(x)))): the fully connected residual unit of PNet."""

  width: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    y = nn.LayerNorm(dtype=self.dtype, name='norm')(x)
    y = nn.relu(nn.Dense(self.width, dtype=self.dtype, name='fc1')(y))
    y = nn.Dense(self.width, dtype=self.dtype, name='fc2')(y)
    return x + y


class VectorSignalEncoder(nn.Module):
  """Word/attribute vector of any dimension -> signal embedding (FC residual network)."""

  width: int = 256
  num_blocks: int = 2
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, vectors: jax.Array) -> jax.Array:
    if vectors.ndim != 2:
      raise ValueError(f'vector signals must be shaped [N, D], got {vectors.shape}')
    x = nn.Dense(self.width, dtype=self.dtype, name='input')(vectors.astype(self.dtype))
    for i in range(self.num_blocks):
      x = ResidualMLPBlock(self.width, self.dtype, name=f'block{i}')(x)
    return x


class ImageSignalEncoder(nn.Module):
  """Style image -> signal embedding, from the frozen loss network's VGG activations.

  Each tapped VGG layer goes through a trainable 1x1 conv + ReLU and is pooled globally
  into per-channel mean and standard deviation, so any image resolution works. Building
  on ImageNet VGG features rather than raw pixels is what lets PNet generalize to unseen
  paintings: first- and second-order statistics of VGG activations are exactly what the
  Gram style loss measures (Gatys; Huang & Belongie's AdaIN), so the encoder starts from
  a description of style that does not depend on the training paintings, and only the
  small trainable part on top can overfit to them. Gradients never flow into VGG.
  """

  width: int = 256
  layers: tuple[str, ...] = STYLE_ENCODER_LAYERS
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, features: Mapping[str, jax.Array]) -> jax.Array:
    missing = [name for name in self.layers if name not in features]
    if missing:
      raise ValueError(f'image signal needs VGG activations {missing}; got {sorted(features)}')
    pooled = []
    for name in self.layers:
      f = jax.lax.stop_gradient(features[name]).astype(self.dtype)
      f = nn.relu(nn.Conv(self.width // 2, (1, 1), dtype=self.dtype, name=f'proj_{name}')(f))
      f32 = f.astype(jnp.float32)
      mean = jnp.mean(f32, axis=(1, 2))
      std = jnp.sqrt(jnp.var(f32, axis=(1, 2)) + 1e-5)
      pooled += [mean, std]
    x = jnp.concatenate(pooled, axis=-1).astype(self.dtype)
    x = nn.LayerNorm(dtype=self.dtype, name='pool_norm')(x)
    return nn.Dense(self.width, dtype=self.dtype, name='embed')(x)


class DinHead(nn.Module):
  """Embedding -> (gamma, beta) for one TNet layer; starts near the identity (1, 0)."""

  channels: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, h):
    h = nn.LayerNorm(dtype=self.dtype, name='norm')(h)
    out = nn.Dense(
      2 * self.channels,
      dtype=self.dtype,
      kernel_init=nn.initializers.variance_scaling(0.01, 'fan_in', 'truncated_normal'),
      name='affine',
    )(h).astype(jnp.float32)
    delta_gamma, beta = jnp.split(out, 2, axis=-1)
    return 1.0 + delta_gamma, beta


class SerialPNet(nn.Module):
  """One deep network: stage k refines stage k-1's state and emits TNet layer k's DIN."""

  layers: tuple[tuple[str, int], ...]
  width: int = 256
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, embedding: jax.Array) -> DinParams:
    h = embedding
    din = {}
    for name, channels in self.layers:
      h = ResidualMLPBlock(self.width, self.dtype, name=f'stage_{name}')(h)
      din[name] = DinHead(channels, self.dtype, name=f'head_{name}')(h)
    return din


class ParallelPNet(nn.Module):
  """Independent heads, one per TNet layer, all reading the shared signal embedding."""

  layers: tuple[tuple[str, int], ...]
  width: int = 256
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, embedding: jax.Array) -> DinParams:
    din = {}
    for name, channels in self.layers:
      h = ResidualMLPBlock(self.width, self.dtype, name=f'branch_{name}')(embedding)
      din[name] = DinHead(channels, self.dtype, name=f'head_{name}')(h)
    return din


PNET_VARIANTS = {'serial': SerialPNet, 'parallel': ParallelPNet}
SIGNAL_KINDS = ('image', 'vector')


@dataclasses.dataclass(frozen=True)
class PNetConfig:
  variant: str = 'serial'
  signal: str = 'image'
  width: int = 256
  vector_blocks: int = 2
  signal_dim: int = 0  # vector signals' length; training sets it from the vocabulary.

  @classmethod
  def from_config(cls, cfg: Mapping[str, Any] | None) -> PNetConfig:
    config = cls(**dict(cfg or {}))
    if config.variant not in PNET_VARIANTS:
      raise ValueError(
        f'pnet.variant must be one of {sorted(PNET_VARIANTS)}, got {config.variant!r}'
      )
    if config.signal not in SIGNAL_KINDS:
      raise ValueError(f'pnet.signal must be one of {SIGNAL_KINDS}, got {config.signal!r}')
    return config


class ZMNet(nn.Module):
  """PNet + TNet. `encode` maps a signal to DIN parameters, `transform` applies them.

  An image signal is the dict of VGG activations of the style image (computed by the
  frozen loss network); a vector signal is an array [N, D].
  """

  tnet: TNetConfig = TNetConfig()
  pnet: PNetConfig = PNetConfig()
  dtype: Any = jnp.float32

  def setup(self):
    if self.pnet.signal == 'image':
      self.signal_encoder = ImageSignalEncoder(self.pnet.width, dtype=self.dtype)
    else:
      self.signal_encoder = VectorSignalEncoder(
        self.pnet.width, self.pnet.vector_blocks, dtype=self.dtype
      )
    layers = tuple(conditioned_layers(self.tnet))
    self.param_net = PNET_VARIANTS[self.pnet.variant](layers, self.pnet.width, self.dtype)
    self.transformer = TNet(self.tnet, self.dtype)

  def encode(self, signal) -> DinParams:
    return self.param_net(self.signal_encoder(signal))

  def embed(self, signal) -> jax.Array:
    """The signal embedding [N, width] that PNet's parameter heads read."""
    return self.signal_encoder(signal)

  def din_from_embedding(self, embedding: jax.Array) -> DinParams:
    return self.param_net(embedding)

  def transform(self, images: jax.Array, din: DinParams) -> jax.Array:
    return self.transformer(images, din)

  def __call__(self, images: jax.Array, signal) -> jax.Array:
    return self.transform(images, self.encode(signal))


def mix_din_params(din_list: Sequence[DinParams], weights: Sequence[float]) -> DinParams:
  """Weighted mixture of several signals' DIN parameters (weights are normalized to 1)."""
  if len(din_list) != len(weights) or not din_list:
    raise ValueError(
      f'need one weight per signal, got {len(din_list)} signals and {len(weights)} weights'
    )
  normalized = normalize_weights(weights)
  scaled = [
    jax.tree.map(lambda p, w=w: p * w, d) for d, w in zip(din_list, normalized, strict=True)
  ]
  return jax.tree.map(lambda *ps: sum(ps), *scaled)


def normalize_weights(weights: Sequence[float]) -> list[float]:
  """Mixing weights scaled to sum to 1: finite, non-negative, not all zero (ValueError).
  Scaled by the largest first, so huge weights (1e308) do not overflow the sum."""
  values = [float(w) for w in weights]
  if not all(math.isfinite(w) and w >= 0 for w in values) or not any(values):
    raise ValueError(f'mixing weights must be finite, non-negative and not all zero, got {values}')
  largest = max(values)
  relative = [w / largest for w in values]
  total = sum(relative)
  return [w / total for w in relative]
