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


"""What every stylizer backend does with signals before and around its networks.

Shared by the JAX `Stylizer` and the ONNX Runtime one (`zmnet_jax.portable`): the style
image as the encoder reads it, checked vectors, the cache of encoded styles, strength.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
import hashlib
from typing import Any

import numpy as np

from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.infer.loading import InferenceError

STYLE_ENCODERS = ('vgg', 'fast')  # the model's own (VGG), or its distilled one


def check_style_encoder(style_encoder: str, has_fast: bool, model: str) -> None:
  """InferenceError unless `style_encoder` is one of STYLE_ENCODERS that `model` has."""
  if style_encoder not in STYLE_ENCODERS:
    raise InferenceError(
      f'style encoder must be one of {", ".join(STYLE_ENCODERS)}, got {style_encoder!r}'
    )
  if style_encoder == 'fast' and not has_fast:
    raise InferenceError(
      f'{model}: this model has no fast style encoder (add one with python -m '
      f'zmnet_jax.distill --model {model} --out NEW.safetensors)'
    )


def checked_style(style: np.ndarray, name: str = 'style image') -> np.ndarray:
  """`style` as an array [H, W, 3]; InferenceError naming `name` otherwise."""
  style = np.asarray(style)
  if style.ndim != 3 or style.shape[-1] != 3 or 0 in style.shape:
    raise InferenceError(f'{name}: expected an image [H, W, 3], got {list(style.shape)}')
  return style


def fast_style_array(style: np.ndarray, size: int, name: str = 'style image') -> np.ndarray:
  """One style as the fast encoder reads it: [1, size, size, 3] float32, the central
  square of the style with its short side resized to `size`."""
  return image_arrays.to_float(image_arrays.square(checked_style(style, name), size))[None].astype(
    np.float32
  )


def style_array(style: np.ndarray, size: int, name: str = 'style image') -> np.ndarray:
  """One style image as the encoder reads it: [1, h, w, 3] float32, short side `size`.

  Styles are encoded whole, so the resized image may have at most
  `image_files.MAX_STYLE_PIXELS` (ImageError naming `name`).
  """
  style = checked_style(style, name)
  image_files.check_resize(
    name, style.shape[:2], size, image_files.MAX_STYLE_PIXELS, 'style size', 'the style limit of'
  )
  # uint8 images are resized as uint8 (PIL's fast path; floats resample per channel).
  return image_arrays.to_float(image_arrays.resize_short_side(style, size))[None].astype(np.float32)


def checked_vectors(vectors: np.ndarray, dim: int | None) -> np.ndarray:
  """float32 [S, D] signal vectors, D = `dim` when known, all finite; else InferenceError."""
  vectors = np.asarray(vectors, np.float32)
  if vectors.ndim != 2 or (dim and vectors.shape[1] != dim):
    raise InferenceError(
      f'signal vectors must be shaped [S, {dim or "D"}], got {list(vectors.shape)}'
    )
  if not np.all(np.isfinite(vectors)):
    raise InferenceError('signal vectors contain NaN or infinite values')
  return vectors


def check_strength(strength: float, signal_kind: str) -> None:
  if not 0.0 <= strength <= 1.0:
    raise InferenceError(f'strength must be in [0, 1], got {strength}')
  if signal_kind != 'image':
    raise InferenceError(
      f'a strength below 1 needs an image-signal model (the content is its own style at '
      f'0); this one takes {signal_kind} signals'
    )


def blend(style: Any, own: Any, strength: float, tree_map: Callable) -> Any:
  """Per (signal, content) DIN params [S, B, C]: `strength` of the styles' [S], the rest
  of the contents' own [B] (`tree_map`: jax.tree.map or an equivalent)."""
  return tree_map(lambda s, o: strength * s[:, None] + (1.0 - strength) * o[None], style, own)


class StyleCache:
  """Encoded styles by pixel content and encoding size, the last `capacity` kept: a style
  seen twice, under any name, is encoded once."""

  def __init__(self, capacity: int = 256):
    self.capacity = capacity
    self._entries = collections.OrderedDict()

  def clear(self) -> None:
    self._entries.clear()

  def get(self, style: np.ndarray, size: int, encode: Callable[[], Any]) -> Any:
    """The cached encoding of `style` at `size`, or `encode()`'s (then cached)."""
    style = np.ascontiguousarray(style)
    digest = hashlib.sha256(style.view(np.uint8).reshape(-1)).hexdigest()
    key = (digest, style.shape, style.dtype.str, size)
    if key in self._entries:
      self._entries.move_to_end(key)
      return self._entries[key]
    value = self._entries[key] = encode()
    if len(self._entries) > self.capacity:
      self._entries.popitem(last=False)
    return value
