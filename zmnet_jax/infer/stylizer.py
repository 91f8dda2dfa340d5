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

"""Zero-shot inference: encode signals once, apply them to images of any size.

    stylizer = Stylizer.load()                        # the pretrained model (or a path)
    din = stylizer.encode_images([style_a, style_b])  # [S] signals -> DIN parameters
    out = stylizer.stylize(contents, din)             # [S, B, H, W, 3], one vmapped call

Style images are encoded with their short side resized to `style_size` (default: the
model's `eval.style_size`, the scale it was trained and evaluated at). Images larger than
`tile_size` go through exact tiles with whole-image statistics (see `tiling`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses

import jax
import ml_collections
import numpy as np

from zmnet_jax.data import image_arrays
from zmnet_jax.infer import color, core, guided, loading, signal_inputs, tiling
from zmnet_jax.infer.loading import InferenceError
from zmnet_jax.models import fast_encoder, model as model_lib, zmnet


@dataclasses.dataclass(frozen=True)
class StylizeOptions:
  """How `Stylizer.stylize` runs: tiles and their statistics, colour, the working size."""

  tile_size: int = 1024
  stats_max_side: int = 1024
  exact_stats: bool = False
  preserve_colors: bool = False
  work_size: int | None = None


@dataclasses.dataclass
class Stylizer:
  """A trained ZM-Net with its frozen VGG, ready to encode signals and stylize.

  With a mesh, signals are split over its 'data' devices (params replicated once).
  """

  model: model_lib.Model
  params: dict
  vgg_params: dict
  config: ml_collections.ConfigDict
  step: int = 0
  mesh: object = None
  card: dict = dataclasses.field(default_factory=dict)
  source: loading.ModelSource | None = None
  fast_encoder: FastEncoder | None = None  # the distilled style encoder, when chosen

  def __post_init__(self):
    self.functions = core.functions_for(self.model, self.mesh)
    self.params, self.vgg_params = self.functions.replicate((self.params, self.vgg_params))
    self.style_cache = signal_inputs.StyleCache()
    if self.fast_encoder is not None:
      self.fast_encoder = self.fast_encoder.compiled(self.model, self.functions)

  @classmethod
  def load(
    cls,
    path: str | None = None,
    dtype: str | None = None,
    mesh=None,
    style_encoder: str = 'vgg',
  ) -> Stylizer:
    """A shipped model by name (`None` or 'default': the pretrained one; 'fast'), a
    params file, or a training workdir (its checkpoints/ or one step's folder).

    `style_encoder`: 'vgg' (the model's own: VGG19 at `eval.style_size`) or 'fast' (the
    distilled encoder saved with the model, `models.fast_encoder`)."""
    source = loading.resolve_model_path(path)
    loaded = loading.load_model(source, dtype)
    return cls(
      loaded.model,
      loaded.params,
      loaded.vgg_params,
      loaded.config,
      loaded.step,
      mesh,
      loaded.card,
      source,
      FastEncoder.chosen(loaded, style_encoder, source.path),
    )

  @property
  def style_encoder(self) -> str:
    return 'vgg' if self.fast_encoder is None else 'fast'

  @property
  def signal_kind(self) -> str:
    return self.model.signal_kind

  # --------------------------------------------------------------------------- signals

  def encode_images(
    self, styles: Sequence[np.ndarray], style_size: int | None = None, name: str = 'style image'
  ):
    """Style images (each [H, W, 3], uint8 or float in [0, 1], any size) -> DIN params [S].

    Each image is first resized so its short side is `style_size` (default: the model's
    `eval.style_size`, the scale it was trained at); styles of one shape share a compile.
    Encodings are cached by pixel content and size (`signal_inputs.StyleCache`), so a
    style seen twice, under any name, is encoded once.
    """
    return core.concat_signals([self._encode_image(s, style_size, name) for s in styles])

  def _encode_image(self, style: np.ndarray, style_size: int | None, name: str):
    self._require('image')
    if self.fast_encoder is not None:
      fast = self.fast_encoder
      return self.style_cache.get(
        style,
        ('fast', fast.size),
        lambda: self._per_signal(fast.encode, fast.input(style, name), (self.params, fast.params)),
      )
    size = style_size or self.config.eval.style_size
    return self.style_cache.get(
      style, size, lambda: self.encode_inputs(self.signal_input(style, size, name))
    )

  def signal_input(
    self, signal: np.ndarray, style_size: int | None = None, name: str = 'style image'
  ) -> np.ndarray:
    """One signal as the encoder reads it: a style image [H, W, 3] resized to `style_size`
    (default: the model's `eval.style_size`) as [1, h, w, 3] (`signal_inputs.style_array`),
    or checked float32 vectors [S, D] of the model's size; what `encode_inputs` and
    `embed` take."""
    if self.signal_kind == 'image':
      return signal_inputs.style_array(signal, style_size or self.config.eval.style_size, name)
    return signal_inputs.checked_vectors(signal, self.config.model.pnet.get('signal_dim') or None)

  def encode_vectors(self, vectors: np.ndarray):
    """Signal vectors [S, D] -> DIN params with leading [S]."""
    self._require('vector')
    return self.encode_inputs(self.signal_input(vectors))

  def embed(self, signal: np.ndarray):
    """PNet's embedding [S, E] of style images [S, h, w, 3] or vectors [S, D]."""
    return self._per_signal(self.functions.embed, signal)

  def din_from_embedding(self, embedding):
    """DIN params [S] of embeddings [S, E] (e.g. interpolated between signals)."""
    return self._per_signal(self.functions.din_from_embedding, embedding, (self.params,))

  def encode_inputs(self, signal: np.ndarray):
    """DIN params [S] of signals as the encoder reads them (`signal_input`: images [S, h,
    w, 3] of one size, or vectors [S, D])."""
    return self._per_signal(self.functions.encode, signal)

  def _per_signal(self, fn, signal, params: tuple | None = None):
    """`fn(*params, signal)` on a signal batch padded to a multiple of the devices, cut
    back (`params`: default the model's and VGG's)."""
    params = (self.params, self.vgg_params) if params is None else params
    padded, count = self.functions.place_signals(signal)
    out = fn(*params, padded)
    return out if core.num_signals(out) == count else core.take_signals(out, slice(0, count))

  def _require(self, kind: str) -> None:
    if self.signal_kind != kind:
      raise InferenceError(
        f'this model was trained on {self.signal_kind} signals, not {kind} signals'
      )

  def with_strength(
    self, din, contents: np.ndarray, strength: float, style_size: int | None = None
  ):
    """Per (signal, content) DIN params moved from the content's own (0) to the style's (1).

    Returns leaves shaped [S, B, C]: interpolation needs each content's own parameters,
    which only image-signal models can compute.
    """
    signal_inputs.check_strength(strength, self.signal_kind)
    own = self.encode_images(list(contents), style_size)  # [B]
    return signal_inputs.blend(din, own, strength, jax.tree.map)

  # --------------------------------------------------------------------------- images

  def stylize(self, contents: np.ndarray, din, *, stats=None, **options) -> np.ndarray:
    """Contents [B, H, W, 3] in [0, 1] x DIN params [S] (or [S, B]) -> [S, B, H, W, 3].

    Any H, W (reflect-padded to a multiple of 4 and cropped back). `options` are
    `StylizeOptions` fields: images larger than `tile_size` go through tiles (at least 4 x
    `tile_halo` pixels square) normalized with whole-image statistics, those of one pass
    downscaled to at most `stats_max_side`, or with `exact_stats` those of the full
    resolution, computed tile by tile (4-8x slower; the output then equals an untiled
    pass); with `work_size`, larger images are stylized at that long side and
    guided-upsampled (`guided`). `stats` ({layer: (mean, var)}, leaves [S, B, C], e.g.
    from `video.temporal.frame_statistics`) normalize instead of the images' own (video uses them to hold
    statistics steady over frames).
    """
    contents = image_arrays.to_float(contents)
    if contents.ndim != 4 or contents.shape[-1] != 3:
      raise InferenceError(f'contents must be [B, H, W, 3], got {contents.shape}')
    return self._stylize(contents, din, StylizeOptions(**options), stats)

  def _stylize(self, contents: np.ndarray, din, options: StylizeOptions, stats) -> np.ndarray:
    work_size = options.work_size
    if work_size and tiling.long_side_shape(*contents.shape[1:3], work_size):
      at_full = dataclasses.replace(options, work_size=None, preserve_colors=False)
      return guided.at_work_size(
        contents,
        work_size,
        options.preserve_colors,
        lambda small: self._stylize(small, din, at_full, stats),
      )
    if jax.tree.leaves(din)[0].ndim == 3:  # Per-content parameters: one content at a time.
      pick = lambda tree, i: None if tree is None else jax.tree.map(lambda x: x[:, i], tree)
      outs = [
        self._stylize(contents[i : i + 1], pick(din, i), options, pick(stats, slice(i, i + 1)))
        for i in range(contents.shape[0])
      ]
      return np.concatenate(outs, axis=1)
    return self._stylize_batch(contents, din, options, stats)

  def _stylize_batch(self, contents: np.ndarray, din, options: StylizeOptions, stats):
    """`stylize` for DIN params [S] shared by all contents, at full resolution."""
    din, count = self.functions.place_signals(din)
    if stats is not None:
      stats, _ = self.functions.place_signals(stats)
    padded, (h, w) = tiling.pad_to_stride(contents)
    if max(padded.shape[1:3]) <= options.tile_size:
      if stats is None:
        out = np.asarray(self.functions.transform(self.params, padded, din))
      else:
        out = np.asarray(self.functions.transform_with_stats(self.params, padded, din, stats))
    else:
      out = tiling.stylize_tiled(
        self.functions,
        self.params,
        padded,
        din,
        options.tile_size,
        options.stats_max_side,
        options.exact_stats,
        stats,
      )
    out = out[:count, :, :h, :w]
    if options.preserve_colors:
      out = color.preserve_color(contents[None], out)
    return out


def mix(din, weights: Sequence[float]):
  """One signal's DIN params from a weighted mixture of the [S] signals in `din`."""
  num = core.num_signals(din)
  if len(weights) != num:
    raise InferenceError(
      f'mix: {len(weights)} weights for {num} signals; give one weight per signal'
    )
  parts = [jax.tree.map(lambda x, i=i: x[i], din) for i in range(num)]
  try:
    mixed = zmnet.mix_din_params(parts, list(weights))
  except ValueError as e:
    raise InferenceError(str(e)) from e
  return jax.tree.map(lambda x: x[None], mixed)


@dataclasses.dataclass
class FastEncoder:
  """A model's distilled style encoder (`models.fast_encoder`): its config and params, and
  once compiled `encode(model params, its params, styles [S, s, s, 3]) -> DIN params`."""

  config: fast_encoder.FastEncoderConfig
  params: dict
  encode: Callable | None = None

  @classmethod
  def chosen(cls, loaded: loading.LoadedModel, style_encoder: str, path: str):
    """The fast encoder if `style_encoder` is 'fast' (None for 'vgg')."""
    signal_inputs.check_style_encoder(style_encoder, loaded.fast_encoder is not None, path)
    if style_encoder == 'vgg':
      return None
    return cls(loaded.fast_encoder_config, loaded.fast_encoder)

  @property
  def size(self) -> int:
    return self.config.size

  def input(self, style: np.ndarray, name: str) -> np.ndarray:
    return signal_inputs.fast_style_array(style, self.size, name)

  def compiled(self, model: model_lib.Model, functions: core.InferenceFunctions) -> FastEncoder:
    """This encoder with its params placed and `encode` jitted for `functions`' mesh."""
    embedding_dim = self.params['params']['embed']['kernel'].shape[1]
    module = fast_encoder.FastStyleEncoder(embedding_dim, self.config)

    def encode(params, student, styles):
      return model.din_from_embedding(params, module.apply(student, styles))

    rep, split = 'replicated', 'split'
    return dataclasses.replace(
      self,
      params=functions.replicate(self.params),
      encode=functions.jit(encode, (rep, rep, split), split),
    )
