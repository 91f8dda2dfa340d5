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

"""ZM-Net plus its frozen VGG loss network, as pure functions of explicit parameters.

`Model` is what training, evaluation and inference share: it turns a config into modules
and offers `encode` (signal -> DIN parameters), `transform` (images + DIN -> images) and
`loss_terms` (the perceptual losses of one batch). VGG parameters are always passed in
explicitly and never trained.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from zmnet_jax.models import losses, vgg as vgg_lib, zmnet

DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16, 'float16': jnp.float16}


def parse_dtype(name: str):
  if name not in DTYPES:
    raise ValueError(f'dtype must be one of {sorted(DTYPES)}, got {name!r}')
  return DTYPES[name]


@dataclasses.dataclass(frozen=True)
class Model:
  """The ZMNet module, the VGG module and the loss config of one experiment."""

  net: zmnet.ZMNet
  vgg: Any  # zmnet_jax.models.vgg.VGG
  loss: ml_collections.FrozenConfigDict

  @property
  def signal_kind(self) -> str:
    return self.net.pnet.signal

  def vgg_features(self, vgg_params, images: jax.Array) -> dict[str, jax.Array]:
    """Frozen VGG activations of RGB images in [0, 1]."""
    return self.vgg.apply(jax.lax.stop_gradient(vgg_params), images)

  def signal_input(self, vgg_params, signal):
    """What PNet's encoder reads: VGG activations for style images, the vector otherwise."""
    if self.signal_kind == 'image':
      feats = self.vgg_features(vgg_params, signal)
      return {name: feats[name] for name in zmnet.STYLE_ENCODER_LAYERS}
    return signal

  def init(self, rng: jax.Array, vgg_params, batch: Mapping[str, jax.Array]):
    """Fresh ZMNet parameters for a batch shaped like the training batches."""
    signal = self.signal_input(vgg_params, batch_signal(batch, self.signal_kind))
    return self.net.init(rng, batch['content'], signal)['params']

  def abstract_params(self, config: ml_collections.ConfigDict, vgg_params):
    """ShapeDtypeStructs of the params (from `init` on a one-element batch; no compute)."""
    batch = {k: jnp.zeros(s.shape, s.dtype) for k, s in batch_shapes(config, 1).items()}
    return jax.eval_shape(lambda: self.init(jax.random.PRNGKey(0), vgg_params, batch))

  def encode(self, params, vgg_params, signal) -> zmnet.DinParams:
    return self.net.apply(
      {'params': params}, self.signal_input(vgg_params, signal), method=zmnet.ZMNet.encode
    )

  def embed(self, params, vgg_params, signal) -> jax.Array:
    return self.net.apply(
      {'params': params}, self.signal_input(vgg_params, signal), method=zmnet.ZMNet.embed
    )

  def din_from_embedding(self, params, embedding: jax.Array) -> zmnet.DinParams:
    return self.net.apply({'params': params}, embedding, method=zmnet.ZMNet.din_from_embedding)

  def transform(self, params, images: jax.Array, din: zmnet.DinParams) -> jax.Array:
    return self.net.apply({'params': params}, images, din, method=zmnet.ZMNet.transform)

  def loss_terms(self, params, vgg_params, batch) -> tuple[dict[str, jax.Array], jax.Array]:
    """Per-sample loss terms of a batch {'content', 'style'[, 'style_view' | 'signal']}
    and the outputs. PNet reads 'style_view' (the whole style) when there is one, else
    the style crop that the loss compares with."""
    feats = self.batch_features(vgg_params, batch)
    if self.signal_kind == 'image':
      encoded = feats.get('style_view', feats['style'])
      signal = {name: encoded[name] for name in zmnet.STYLE_ENCODER_LAYERS}
    else:
      signal = batch['signal']
    din = self.net.apply({'params': params}, signal, method=zmnet.ZMNet.encode)
    outputs = self.transform(params, batch['content'], din)
    terms = losses.perceptual_loss_terms(
      outputs, self.vgg_features(vgg_params, outputs), feats['content'], feats['style'], self.loss
    )
    return terms, outputs

  def batch_features(self, vgg_params, batch) -> dict[str, dict[str, jax.Array]]:
    """VGG activations of the batch's images, one VGG pass per image size.

    The images of one size go through VGG as [B * k] interleaved sample by sample (stack
    on axis 1, then reshape), not concatenated: with the batch split over devices, each
    device then keeps its own samples (a concatenation moved them between devices with
    all-to-alls and collective-permutes, seen in the TPU-compiled step).
    """
    names = [n for n in ('content', 'style', 'style_view') if n in batch]
    feats = {}
    for shape in dict.fromkeys(batch[n].shape[1:] for n in names):
      group = [n for n in names if batch[n].shape[1:] == shape]
      stacked = jnp.stack([batch[n] for n in group], axis=1)
      activations = self.vgg_features(vgg_params, stacked.reshape((-1, *shape)))
      for i, n in enumerate(group):
        feats[n] = {
          k: v.reshape((-1, len(group), *v.shape[1:]))[:, i] for k, v in activations.items()
        }
    return feats


def batch_shapes(config: ml_collections.ConfigDict, batch_size: int):
  """ShapeDtypeStructs of one batch of `batch_size` training examples."""
  c, s = config.data.content_size, config.data.style_size
  shapes = {
    'content': jax.ShapeDtypeStruct((batch_size, c, c, 3), jnp.float32),
    'style': jax.ShapeDtypeStruct((batch_size, s, s, 3), jnp.float32),
  }
  view = config.data.get('style_view_size', 0)
  if view and config.model.pnet.signal == 'image':
    shapes['style_view'] = jax.ShapeDtypeStruct((batch_size, view, view, 3), jnp.float32)
  if config.model.pnet.signal == 'vector':
    if not config.model.pnet.signal_dim:
      raise ValueError('model.pnet.signal_dim is not set for a vector-signal model')
    shapes['signal'] = jax.ShapeDtypeStruct((batch_size, config.model.pnet.signal_dim), jnp.float32)
  return shapes


def batch_signal(batch: Mapping[str, jax.Array], signal_kind: str):
  return batch['style'] if signal_kind == 'image' else batch['signal']


def vgg_last_layer(config: ml_collections.ConfigDict) -> str:
  """The deepest VGG layer that the losses or the style encoder need."""
  needed = set(losses.loss_layers(config.loss))
  if config.model.pnet.signal == 'image':
    needed |= set(zmnet.STYLE_ENCODER_LAYERS)
  order = vgg_lib.layer_names(config.vgg.arch)
  unknown = sorted(needed - set(order))
  if unknown:
    raise ValueError(f'loss layers {unknown} are not {config.vgg.arch} layers; choose from {order}')
  return max(needed, key=order.index)


def build_model(config: ml_collections.ConfigDict, cache_dir: str | None = None):
  """(Model, vgg_params) for a config; fetches the VGG weights on first use."""
  dtype = parse_dtype(config.dtype)
  net = zmnet.ZMNet(
    zmnet.TNetConfig.from_config(config.model.tnet),
    zmnet.PNetConfig.from_config(config.model.pnet),
    dtype=dtype,
  )
  vgg, vgg_params = vgg_lib.load_vgg(
    config.vgg.arch,
    weights=config.vgg.weights or None,
    last_layer=vgg_last_layer(config),
    cache_dir=cache_dir,
    pooling=config.vgg.pooling,
  )
  vgg = vgg.clone(dtype=dtype)
  loss_config = ml_collections.FrozenConfigDict(config.loss)
  return Model(net, vgg, loss_config), vgg_params
