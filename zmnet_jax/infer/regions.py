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

"""Spatial control: a different signal for each region of an image, from a mask.

A mask is an image of the content's shape (any size of the same aspect). Its values, dark
to light, take the signals in order:
- two signals: a greyscale mask is the second signal's weight (black: the first signal,
  white: the second, grey: a blend, so a soft mask gives soft edges);
- any number: a label image with one colour per signal, darkest first (ties by RGB).

Each signal stylizes the whole image and the outputs are blended pixel by pixel with the
mask's weights (`stylize_regions`): away from the edges each region equals its signal's
output alone, and it runs on any backend, with tiles, strength and the work size. (Blending
the DIN parameters inside TNet instead mixes the regions' statistics, so no region equals
its style alone; `benchmarks/mask_methods.py` measures both.)
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from zmnet_jax.infer.loading import InferenceError

ASPECT_TOLERANCE = 0.02  # relative: a mask may be a resized copy of the content's shape
LUMA = np.array([0.299, 0.587, 0.114])


def mask_weights(mask: np.ndarray, num_signals: int, name: str = 'mask') -> np.ndarray:
  """uint8 mask [H, W, 3] -> float32 weights [num_signals, H, W] that sum to 1."""
  if num_signals < 2:
    raise InferenceError(f'{name}: a mask needs two or more signals, got {num_signals}')
  mask = np.asarray(mask)
  grey = bool(np.all(mask[..., :1] == mask))
  if grey and num_signals == 2:
    second = mask[..., 0].astype(np.float32) / 255.0
    return np.stack([1.0 - second, second])
  colours, labels = np.unique(mask.reshape(-1, 3), axis=0, return_inverse=True)
  if len(colours) != num_signals:
    kind = 'shades of grey' if grey else 'colours'
    raise InferenceError(
      f'{name}: {len(colours)} {kind} for {num_signals} signals; a label mask needs one '
      f'colour per signal (a greyscale mask serves two signals)'
    )
  order = np.lexsort((*colours.T[::-1], colours @ LUMA))  # darkest first, then RGB
  rank = np.argsort(order)[labels.reshape(mask.shape[:2])]
  return (rank[None] == np.arange(num_signals)[:, None, None]).astype(np.float32)


def check_shape(mask_shape: tuple[int, int], shape: tuple[int, int], name: str, content: str):
  """The mask [H, W] must have the content's aspect (it is resized to the content)."""
  (mh, mw), (h, w) = mask_shape, shape
  if abs(mh * w - mw * h) > ASPECT_TOLERANCE * mh * w:
    raise InferenceError(
      f"{name}: {mw}x{mh} does not fit {content} ({w}x{h}); give a mask of the content's shape"
    )


def fit(weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
  """Weights [K, h, w] resized (bilinear) to [K, H, W], renormalized to sum to 1."""
  if weights.shape[1:] == tuple(shape):
    return weights
  height, width = shape
  resized = np.stack(
    [
      np.asarray(Image.fromarray(w, mode='F').resize((width, height), Image.Resampling.BILINEAR))
      for w in weights.astype(np.float32)
    ]
  )
  resized = np.clip(resized, 0.0, None)
  return resized / np.maximum(resized.sum(axis=0, keepdims=True), 1e-6)


def composite(outputs: np.ndarray, weights: np.ndarray) -> np.ndarray:
  """Outputs [K, B, H, W, 3] of the K signals, blended by weights [K, H, W] -> [B, H, W, 3]."""
  if outputs.shape[0] != weights.shape[0] or outputs.shape[2:4] != weights.shape[1:]:
    raise InferenceError(
      f'regions: {outputs.shape[0]} outputs of {outputs.shape[2:4]} for weights {weights.shape}'
    )
  return np.einsum('kbhwc,khw->bhwc', outputs, weights.astype(outputs.dtype))


def stylize_regions(stylizer, contents: np.ndarray, din, weights: np.ndarray, **options):
  """Contents [B, H, W, 3] with DIN params [K] (or [K, B]), each where `weights` [K, h, w]
  (`mask_weights`) put it -> [B, H, W, 3]. `stylizer` is any backend's (`Stylizer`, the
  ONNX one); `options` are its `stylize` options."""
  outputs = stylizer.stylize(contents, din, **options)
  return composite(outputs, fit(weights, outputs.shape[2:4]))
