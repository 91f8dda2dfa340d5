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

"""Perceptual losses over VGG activations: content, style (Gram or mean/std), total variation.

Every function returns per-sample values (shape [N]) so training can average them and
evaluation can report them per (content, style) pair. Layer weights are mappings from VGG
layer name (e.g. 'relu4_1') to weight; a weight of 0 drops the layer.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

Features = Mapping[str, jax.Array]


def gram_matrix(features: jax.Array) -> jax.Array:
  """[N, H, W, C] -> [N, C, C], normalized by H * W * C (Johnson et al.)."""
  n, h, w, c = features.shape
  f = features.astype(jnp.float32).reshape(n, h * w, c)
  return jnp.einsum('npc,npd->ncd', f, f) / (h * w * c)


def mean_std(features: jax.Array, eps: float = 1e-5) -> tuple[jax.Array, jax.Array]:
  """Per-sample, per-channel spatial mean and standard deviation: ([N, C], [N, C])."""
  f = features.astype(jnp.float32)
  return jnp.mean(f, axis=(1, 2)), jnp.sqrt(jnp.var(f, axis=(1, 2)) + eps)


def _per_sample_mse(a: jax.Array, b: jax.Array) -> jax.Array:
  diff = (a.astype(jnp.float32) - b.astype(jnp.float32)) ** 2
  return jnp.mean(diff.reshape(diff.shape[0], -1), axis=1)


def _active(weights: Mapping[str, float]) -> list[tuple[str, float]]:
  return [(name, float(w)) for name, w in weights.items() if w]


def content_terms(
  output: Features, content: Features, weights: Mapping[str, float]
) -> dict[str, jax.Array]:
  """Weighted feature MSE per layer: {'content/relu4_1': [N], ...}."""
  return {
    f'content/{name}': w * _per_sample_mse(output[name], content[name])
    for name, w in _active(weights)
  }


def style_distance(a: jax.Array, b: jax.Array, kind: str) -> jax.Array:
  """Per-sample style distance between two activations of one layer (sizes may differ)."""
  if kind == 'gram':
    return _per_sample_mse(gram_matrix(a), gram_matrix(b))
  if kind == 'mean_std':
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    return _per_sample_mse(ma, mb) + _per_sample_mse(sa, sb)
  raise ValueError(f"style loss kind must be 'gram' or 'mean_std', got {kind!r}")


def style_terms(
  output: Features, style: Features, weights: Mapping[str, float], kind: str = 'gram'
) -> dict[str, jax.Array]:
  """Weighted style distance per layer: {'style/relu1_1': [N], ...}."""
  return {
    f'style/{name}': w * style_distance(output[name], style[name], kind)
    for name, w in _active(weights)
  }


def total_variation(images: jax.Array) -> jax.Array:
  """Mean squared difference of neighbouring pixels, per sample: [N]."""
  x = images.astype(jnp.float32)
  dh = jnp.mean((x[:, 1:] - x[:, :-1]) ** 2, axis=(1, 2, 3))
  dw = jnp.mean((x[:, :, 1:] - x[:, :, :-1]) ** 2, axis=(1, 2, 3))
  return dh + dw


def perceptual_loss_terms(
  output_images: jax.Array, output: Features, content: Features, style: Features, config
) -> dict[str, jax.Array]:
  """All per-sample loss terms plus their weighted sums 'content', 'style', 'tv', 'total'.

  `config` has `content_weights`, `style_weights` (layer -> weight), `style_kind`
  ('gram' | 'mean_std') and `tv_weight`.
  """
  terms = content_terms(output, content, config.content_weights)
  terms.update(style_terms(output, style, config.style_weights, config.style_kind))
  batch = output_images.shape[0]
  zero = jnp.zeros((batch,), jnp.float32)
  terms['content'] = sum((v for k, v in terms.items() if k.startswith('content/')), zero)
  terms['style'] = sum((v for k, v in terms.items() if k.startswith('style/')), zero)
  terms['tv'] = config.tv_weight * total_variation(output_images)
  terms['total'] = terms['content'] + terms['style'] + terms['tv']
  return terms


def loss_layers(config) -> list[str]:
  """VGG layers the loss reads (with a nonzero weight)."""
  names = {n for n, _ in _active(config.content_weights)}
  names |= {n for n, _ in _active(config.style_weights)}
  return sorted(names)
