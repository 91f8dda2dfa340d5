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


"""Stylize with ONNX Runtime: the exported graphs, no JAX compilation.

    stylizer = OnnxStylizer.load('bundle_dir')      # or any model: exported once, cached
    din = stylizer.encode_images([style])            # {layer: (gamma, beta)} [S, C]
    out = stylizer.stylize(contents, din)            # [S, B, H, W, 3]

The same interface as `zmnet_jax.infer.Stylizer` for what `stylize` uses (signals,
strength, mixing, colour preservation), on numpy arrays. Images go through whole (no
tiles: ONNX Runtime takes any size, and its memory grows with the pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
import hashlib
import os

import jax
import numpy as np
import onnxruntime

from zmnet_jax import cache, files, params_file
from zmnet_jax.data import image_arrays
from zmnet_jax.infer import color, guided, loading, signal_inputs, tiling
from zmnet_jax.infer.loading import InferenceError
from zmnet_jax.portable import bundle, bundle_writer, onnx_graphs


def session(path: str, threads: int | None) -> onnxruntime.InferenceSession:
  """An ONNX Runtime CPU session of the graph `path`; InferenceError if it cannot load."""
  options = onnxruntime.SessionOptions()
  # Idle threads sleep instead of spinning: JAX (guided upsampling) and the other session
  # run in between, on the same cores.
  options.add_session_config_entry('session.intra_op.allow_spinning', '0')
  if threads:
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
  try:
    return onnxruntime.InferenceSession(path, options, providers=['CPUExecutionProvider'])
  except Exception as e:  # onnxruntime raises its own exception types
    reason = ' '.join(str(e).split())[:200]
    raise InferenceError(f'{path}: not a loadable ONNX graph ({reason})') from e


def bundle_for(model: str | None) -> str:
  """A bundle folder for `model`: itself if it is one, else its export in the cache
  (keyed by the params' content, written on first use)."""
  if model is not None and bundle.is_bundle(model):
    return model
  if problem := bundle.missing_manifest(model):
    raise loading.InferenceError(problem)
  source = loading.resolve_model_path(model)
  loaded = None
  if source.is_file:
    key = file_digest(source.params_path)
  else:
    loaded = loading.load_model(source)
    key = params_digest(loaded.params)
  key = hashlib.sha256(f'{bundle.FORMAT}:{key}'.encode()).hexdigest()  # new format, new key
  out = os.path.join(cache.cache_dir(), 'onnx', key[:32])
  if not bundle.is_bundle(out):
    loaded = loaded or loading.load_model(source)
    vocab = bundle_writer.vocabulary_of(source, loaded)
    try:  # a damaged one (no manifest) is replaced
      bundle_writer.write_bundle(loaded, out, source.path, vocab, overwrite=True)
    except OSError:
      if not bundle.is_bundle(out):  # else another process wrote it first
        raise
  return out


def file_digest(path: str) -> str:
  with open(path, 'rb') as f:
    return hashlib.file_digest(f, 'sha256').hexdigest()


def params_digest(params) -> str:
  """The params' `params_file.tensors_digest` (names, dtypes, shapes, bytes)."""
  return params_file.tensors_digest(params_file.flatten(params))


class OnnxStylizer:
  """A ZM-Net ONNX bundle in ONNX Runtime sessions (CPU)."""

  def __init__(self, folder: str, threads: int | None = None, style_encoder: str = 'vgg'):
    try:
      self.manifest = files.read_json(os.path.join(folder, bundle.MANIFEST))
    except (OSError, ValueError) as e:
      raise InferenceError(f'{folder}: unreadable ONNX manifest ({e})') from e
    if self.manifest.get('format') != bundle.FORMAT:
      raise InferenceError(
        f'{folder}: not a {bundle.FORMAT} bundle (format {self.manifest.get("format")!r})'
      )
    missing = [k for k in ('signal', 'style_size', 'layers') if k not in self.manifest]
    if missing:
      raise InferenceError(f'{folder}: the ONNX manifest lacks {", ".join(missing)}')
    self.bundle = folder
    self.layers = [tuple(layer) for layer in self.manifest['layers']]
    self.encoder = session(self._graph(self._encoder_file(style_encoder)), threads)
    self.transformer = session(self._graph(bundle.TRANSFORMER_FILE), threads)
    self.style_encoder = style_encoder
    self.style_cache = signal_inputs.StyleCache()

  @classmethod
  def load(
    cls, model: str | None = None, threads: int | None = None, style_encoder: str = 'vgg'
  ) -> OnnxStylizer:
    """A bundle folder, or any model `Stylizer.load` takes (exported to the cache);
    `style_encoder` as in `Stylizer.load`."""
    return cls(bundle_for(model), threads, style_encoder)

  def _encoder_file(self, style_encoder: str) -> str:
    source = self.manifest.get('source') or self.bundle
    signal_inputs.check_style_encoder(style_encoder, 'fast_style_size' in self.manifest, source)
    return bundle.ENCODER_FILE if style_encoder == 'vgg' else bundle.FAST_ENCODER_FILE

  def _graph(self, name: str) -> str:
    path = os.path.join(self.bundle, name)
    want = self.manifest.get('sha256', {}).get(name)
    if not os.path.isfile(path):
      raise InferenceError(f'{path}: missing from the ONNX bundle')
    if want and file_digest(path) != want:
      raise InferenceError(f'{path}: damaged (does not match its checksum in the manifest)')
    return path

  @property
  def signal_kind(self) -> str:
    return self.manifest['signal']

  @property
  def style_size(self) -> int:
    return int(self.manifest['style_size'])

  # --------------------------------------------------------------------------- signals

  def encode_images(
    self, styles: Sequence[np.ndarray], style_size: int | None = None, name: str = 'style image'
  ):
    """Style images (each [H, W, 3], any size) -> DIN params [S] (cached per image)."""
    self._require('image')
    if self.style_encoder == 'fast':
      size = int(self.manifest['fast_style_size'])
      key, read = ('fast', size), signal_inputs.fast_style_array
    else:
      key = size = style_size or self.style_size
      read = signal_inputs.style_array
    encoded = [
      self.style_cache.get(s, key, lambda s=s: self._run_encoder(read(s, size, name)))
      for s in styles
    ]
    return concat(encoded)

  def encode_vectors(self, vectors: np.ndarray):
    """Signal vectors [S, D] -> DIN params [S]."""
    self._require('vector')
    return self._run_encoder(
      signal_inputs.checked_vectors(vectors, self.manifest['signal_dim'] or None)
    )

  def _run_encoder(self, signal: np.ndarray):
    name = self.encoder.get_inputs()[0].name
    outputs = dict(
      zip(
        [o.name for o in self.encoder.get_outputs()],
        self.encoder.run(None, {name: signal}),
        strict=True,
      )
    )
    return {
      layer: (outputs[onnx_graphs.gamma_name(layer)], outputs[onnx_graphs.beta_name(layer)])
      for layer, _ in self.layers
    }

  def with_strength(self, din, contents: np.ndarray, strength: float, style_size=None):
    """Per (signal, content) DIN params [S, B, C] (see `Stylizer.with_strength`)."""
    signal_inputs.check_strength(strength, self.signal_kind)
    return signal_inputs.blend(
      din, self.encode_images(list(contents), style_size), strength, jax.tree.map
    )

  def _require(self, kind: str) -> None:
    if self.signal_kind != kind:
      raise InferenceError(
        f'this model was trained on {self.signal_kind} signals, not {kind} signals'
      )

  # --------------------------------------------------------------------------- images

  def stylize(
    self,
    contents: np.ndarray,
    din,
    *,
    preserve_colors: bool = False,
    work_size: int | None = None,
    **_tiling,
  ):
    """Contents [B, H, W, 3] in [0, 1] x DIN params [S] (or [S, B]) -> [S, B, H, W, 3].

    Any H, W (reflect-padded to a multiple of 4, cropped back); whole images, so the
    tiling options of `Stylizer.stylize` have no effect here. `work_size` as there.
    """
    contents = image_arrays.to_float(contents)
    if contents.ndim != 4 or contents.shape[-1] != 3:
      raise InferenceError(f'contents must be [B, H, W, 3], got {contents.shape}')
    if work_size and tiling.long_side_shape(*contents.shape[1:3], work_size):
      return guided.at_work_size(
        contents, work_size, preserve_colors, lambda small: self.stylize(small, din)
      )
    padded, (h, w) = tiling.pad_to_stride(contents)
    per_content = jax.tree.leaves(din)[0].ndim == 3
    out = np.stack(
      [
        self._transform(padded, jax.tree.map(lambda x, s=s: x[s], din), per_content)
        for s in range(jax.tree.leaves(din)[0].shape[0])
      ]
    )[:, :, :h, :w]
    if preserve_colors:
      out = color.preserve_color(contents[None], out)
    return out

  def _transform(self, contents: np.ndarray, din_one, per_content: bool) -> np.ndarray:
    """One signal's DIN ([C], or [B, C] per content) on contents [B, H, W, 3]."""
    batch = contents.shape[0]
    feeds = {'content': np.ascontiguousarray(contents, np.float32)}
    for layer, _ in self.layers:
      gamma, beta = din_one[layer]
      if not per_content:
        gamma, beta = (
          np.broadcast_to(gamma, (batch,) + gamma.shape),
          np.broadcast_to(beta, (batch,) + beta.shape),
        )
      feeds[onnx_graphs.gamma_name(layer)] = np.ascontiguousarray(gamma, np.float32)
      feeds[onnx_graphs.beta_name(layer)] = np.ascontiguousarray(beta, np.float32)
    return self.transformer.run(None, feeds)[0]


def concat(trees):
  """DIN params [S] of a list of DIN params [1]."""
  return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs]), *trees)
