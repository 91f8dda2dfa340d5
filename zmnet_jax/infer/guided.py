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


"""Fast working-resolution stylization that stays sharp: guided upsampling.

TNet's cost grows with the pixels, so `--work-size N` runs it at N pixels on the long
side and brings the result back to full resolution with a fast guided filter (He & Sun,
"Fast Guided Image Filtering", 2015) guided by the full-resolution content's luminance:
at the low resolution, each output channel is fitted as a local affine function of the
content's luminance (over windows of `radius`); the fitted coefficients are smoothed,
upsampled bilinearly and applied to the full-resolution luminance. The result keeps the
content's edges and fine detail and the low-resolution pass's colours and strokes, for a
few fused array passes (jitted; the same function serves the ONNX backend).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from zmnet_jax.infer import color, tiling

RADIUS = 1  # window radius at the working resolution (3x3 windows)
EPS = 1e-4  # regularizer: larger follows the content less, smaller follows it more
LUMA = (0.299, 0.587, 0.114)


def box_mean(x: jax.Array, radius: int) -> jax.Array:
  """Mean over (2r+1)^2 windows of [B, H, W, C], clipped at the borders (separable sums;
  the window counts are constants of the shape)."""
  height, width = x.shape[1:3]
  for axis, n in ((1, height), (2, width)):
    pads = [(0, 0)] * 4
    pads[axis] = (radius, radius)
    padded = jnp.pad(x, pads)
    x = sum(jax.lax.slice_in_dim(padded, k, k + n, axis=axis) for k in range(2 * radius + 1))
  return x / jnp.asarray(window_counts(height, width, radius)[None, :, :, None], x.dtype)


def window_counts(height: int, width: int, radius: int) -> np.ndarray:
  """[H, W] pixels inside each clipped window."""

  def along(n):
    i = np.arange(n)
    return np.minimum(i + radius, n - 1) - np.maximum(i - radius, 0) + 1

  return np.outer(along(height), along(width)).astype(np.float32)


def luminance(x: jax.Array) -> jax.Array:
  return jnp.sum(x * jnp.asarray(LUMA, x.dtype), axis=-1, keepdims=True)


@functools.partial(jax.jit, static_argnames=('radius', 'eps'))
def guided_upsample(
  contents: jax.Array,
  small_contents: jax.Array,
  small_outputs: jax.Array,
  radius: int = RADIUS,
  eps: float = EPS,
) -> jax.Array:
  """Stylized `small_outputs` [B, h, w, 3] of `small_contents` [B, h, w, 3], brought to the
  size of `contents` [B, H, W, 3] (all in [0, 1]) with the contents' detail."""
  guide = luminance(small_contents.astype(jnp.float32))
  target = small_outputs.astype(jnp.float32)
  mean_g, mean_t = box_mean(guide, radius), box_mean(target, radius)
  var_g = box_mean(guide * guide, radius) - mean_g**2
  cov = box_mean(guide * target, radius) - mean_g * mean_t
  a = cov / (var_g + eps)
  b = mean_t - a * mean_g
  coeffs = box_mean(jnp.concatenate([a, b], axis=-1), radius)
  batch, height, width = contents.shape[:3]
  coeffs = jax.image.resize(coeffs, (batch, height, width, 6), 'linear')
  out = coeffs[..., :3] * luminance(contents.astype(jnp.float32)) + coeffs[..., 3:]
  return jnp.clip(out, 0.0, 1.0)


def at_work_size(contents: np.ndarray, work_size: int, preserve_colors: bool, stylize):
  """`stylize` (contents [B, h, w, 3] -> [S, B, h, w, 3]) run on `contents` [B, H, W, 3]
  downscaled to `work_size`, guided-upsampled back: [S, B, H, W, 3]."""
  small = tiling.downscale(contents, work_size)
  outputs = np.stack([np.asarray(guided_upsample(contents, small, o)) for o in stylize(small)])
  return color.preserve_color(contents[None], outputs) if preserve_colors else outputs
