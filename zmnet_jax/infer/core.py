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

"""The compiled inference functions: encode signals, transform contents, DIN statistics.

`functions_for(model, mesh)` jit-compiles each function once, with its shardings
declared: parameters and contents replicated, everything with a leading signal axis (style
images, vectors, DIN parameters, statistics, outputs) split over the mesh's 'data'
devices. Outputs of one function are therefore already placed for the next: a chunk of
signals is encoded, transformed and scored without leaving the devices. Callers pad the
signal axis to a multiple of the devices once (`pad_signals`). Without a mesh everything
runs on the default device.

The pure functions below them (`stylize_all`, `signal_statistics`, ...) are what gets
compiled; evaluation and tiling build on them.
"""

from __future__ import annotations

from collections.abc import Sequence
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from zmnet_jax import sharding
from zmnet_jax.data import image_arrays
from zmnet_jax.models import model as model_lib, zmnet

STRIDE = 4  # TNet halves the resolution twice.


# ----------------------------------------------------------------------------- pure


def broadcast_din(din, batch: int):
  """DIN params of one signal ({layer: ([C], [C])}) repeated for `batch` images."""
  return jax.tree.map(lambda p: jnp.broadcast_to(p, (batch,) + p.shape), din)


def apply_tnet(
  model: model_lib.Model, params, contents: jax.Array, din_one, stats=None, mutable=False
):
  """TNet on contents [B, H, W, 3] with one signal's DIN params ({layer: ([C], [C])}).

  `stats` ({layer: (mean, var)} [B, C]) replaces the images' own statistics.
  """
  tnet = zmnet.TNet(model.net.tnet, model.net.dtype, stats=stats)
  return tnet.apply(
    {'params': params['transformer']},
    contents,
    broadcast_din(din_one, contents.shape[0]),
    mutable=mutable,
  )


def layer_inputs(model: model_lib.Model, params, contents: jax.Array, din_one, stats=None):
  """Every DIN layer's input {layer: [B, h, w, C]} for one signal (XLA keeps only those
  that the caller uses, and the layers they need)."""
  _, sown = apply_tnet(model, params, contents, din_one, stats, mutable=[zmnet.PRENORM_COLLECTION])
  inputs = sown[zmnet.PRENORM_COLLECTION]
  return {name: inputs[f'{name}_input'] for name, _ in zmnet.conditioned_layers(model.net.tnet)}


def stylize_all(model: model_lib.Model, params, contents: jax.Array, din, stats=None):
  """[S signals' DIN] x [B contents] -> [S, B, H, W, 3]: one vmap over the signals.

  `stats` ({layer: (mean, var)} with leading [S, B]) replaces the images' own statistics.
  """
  return jax.vmap(lambda d, s: apply_tnet(model, params, contents, d, s))(din, stats)


def signal_statistics(model: model_lib.Model, params, contents: jax.Array, din):
  """Each DIN layer's (mean, var) for every signal x content: leaves [S, B, C]."""

  def one_signal(d):
    return {
      name: zmnet.instance_statistics(x)
      for name, x in layer_inputs(model, params, contents, d).items()
    }

  return jax.vmap(one_signal)(din)


def masked_moments(x: jax.Array, mask: jax.Array):
  """(count, mean, sum of squared deviations) of x [B, h, w, C] where `mask` is 1.

  `mask` [H, W] is at full resolution, a multiple of x's: it is subsampled to x's size.
  Each result is [B, C].
  """
  scale = mask.shape[0] // x.shape[1]
  m = mask[::scale, ::scale][None, :, :, None]
  x = x.astype(jnp.float32)
  count = jnp.sum(m)
  mean = jnp.sum(x * m, axis=(1, 2)) / count
  m2 = jnp.sum(m * jnp.square(x - mean[:, None, None, :]), axis=(1, 2))
  return jnp.broadcast_to(count, mean.shape), mean, m2


def layer_moments(
  model: model_lib.Model, layer: str, params, window: jax.Array, mask: jax.Array, din, stats
):
  """Moments of DIN layer `layer`'s input over a window's core, for every signal.

  The window [B, h, w, 3] goes through TNet up to `layer` only (XLA drops the rest),
  normalized with `stats` ({layer: (mean, var)}, leaves [S, B, C]) in the layers before
  it; `mask` [h, w] marks the core. Returns (count, mean, m2), each [S, B, C].
  """

  def one_signal(d, s):
    return masked_moments(layer_inputs(model, params, window, d, s)[layer], mask)

  return jax.vmap(one_signal)(din, stats)


# ----------------------------------------------------------------------------- signals


def concat_signals(trees: Sequence[Any]):
  """Trees with a leading signal axis (DIN params, embeddings) joined along it."""
  return jax.tree.map(lambda *xs: jnp.concatenate(xs), *trees)


def take_signals(tree, index: Sequence[int] | slice):
  """The signals `index` (a list or a slice) of a tree with a leading signal axis."""
  index = index if isinstance(index, slice) else jnp.asarray(index)
  return jax.tree.map(lambda x: x[index], tree)


def num_signals(tree) -> int:
  return int(jax.tree.leaves(tree)[0].shape[0])


def pad_signals(tree, multiple: int):
  """The tree padded along the signal axis (repeating the last) to a multiple.

  Padding happens on the host (no small cross-device programs); a tree whose count is
  already a multiple is returned as it is, wherever it lives.
  """
  size = image_arrays.round_up(num_signals(tree), multiple)
  if size == num_signals(tree):
    return tree
  return jax.tree.map(lambda x: image_arrays.pad_with_last(np.asarray(x), size), tree)


# ----------------------------------------------------------------------------- compiled


class InferenceFunctions:
  """One model's jitted inference functions, with shardings declared for `mesh`.

  Every function takes the (replicated) params first; arguments and results with a
  leading signal axis are split over 'data', whose size `num_devices` the signal count
  must be a multiple of (see `pad_signals`).
  """

  def __init__(self, model: model_lib.Model, mesh=None):
    self.model = model
    self.mesh = mesh
    self.num_devices = 1 if mesh is None else mesh.shape[sharding.DATA_AXIS]
    rep, split = 'replicated', 'split'
    self.encode = self.jit(model.encode, (rep, rep, split), split)
    self.embed = self.jit(model.embed, (rep, rep, split), split)
    self.din_from_embedding = self.jit(model.din_from_embedding, (rep, split), split)
    self.transform = self.jit(functools.partial(stylize_all, model), (rep, rep, split), split)
    self.transform_with_stats = self.jit(
      functools.partial(stylize_all, model), (rep, rep, split, split), split
    )
    self.statistics = self.jit(
      functools.partial(signal_statistics, model), (rep, rep, split), split
    )
    self._layer_moments = {}

  def jit(self, fn, in_placement: Sequence[str], out_placement: str):
    """`jax.jit(fn)` with each argument and the result 'replicated' or 'split' over the
    mesh's 'data' axis (plain `jax.jit` without a mesh)."""
    if self.mesh is None:
      return jax.jit(fn)
    shardings = {
      'replicated': sharding.replicated(self.mesh),
      'split': sharding.batch_sharding(self.mesh),
    }
    return jax.jit(
      fn,
      in_shardings=tuple(shardings[p] for p in in_placement),
      out_shardings=shardings[out_placement],
    )

  def replicate(self, tree):
    """Places params (or contents) on every device of the mesh, once."""
    if self.mesh is None:
      return jax.tree.map(jnp.asarray, tree)
    return jax.device_put(tree, sharding.replicated(self.mesh))

  def place_signals(self, tree):
    """(`tree` padded along the signal axis to a multiple of the devices and split over
    'data', its signal count before the padding: what to cut the results back to)."""
    return self.split(pad_signals(tree, self.num_devices)), num_signals(tree)

  def split(self, tree):
    """Places host signals (padded to a multiple of the devices) split over 'data'."""
    if self.mesh is None:
      return jax.tree.map(jnp.asarray, tree)
    return jax.device_put(tree, sharding.batch_sharding(self.mesh))

  def layer_moments(self, layer: str, params, window, mask, din, stats):
    """`layer_moments` for one DIN layer (compiled once per layer, on the default device)."""
    if layer not in self._layer_moments:
      self._layer_moments[layer] = jax.jit(functools.partial(layer_moments, self.model, layer))
    return self._layer_moments[layer](params, window, mask, din, stats)


@functools.lru_cache(maxsize=16)
def functions_for(model: model_lib.Model, mesh=None) -> InferenceFunctions:
  """The InferenceFunctions of a model and mesh, built (and compiled) once per process."""
  return InferenceFunctions(model, mesh)
