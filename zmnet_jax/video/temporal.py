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

"""Steady normalization over a clip: what keeps feed-forward video from flickering.

DIN normalizes each frame with its own instance statistics, which shift with every
change of the scene (a pan revealing a darker corner, a face entering) and pass straight
into the output's global tone. Three modes:

- `frame`: each frame's own statistics (as for stills);
- `smooth`: an exponential moving average of them over frames (a half-life in seconds),
  restarted at scene cuts (a jump in a 16 x 16 thumbnail), so that things moving through
  the scene no longer shift the whole picture's tone while a new shot adapts at once.
  Changes of the light (the median luminance ratio between frames) are divided out of
  the frames first, so a dimming room looks as per-frame normalization shows it rather
  than dimming and slowly recovering;
- `clip`: one set for the whole clip, the exact statistics of frames sampled across it
  taken as one image (`tiling.pooled_statistics`): steadiest, but a clip of several
  scenes gets one compromise.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np
from PIL import Image

from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.infer import tiling

MODES = ('frame', 'smooth', 'clip')
THUMBNAIL = 16
LUMA = (0.299, 0.587, 0.114)
EXPOSURE_DEADBAND = 0.01  # |log| of a frame-to-frame light change below which it is noise
MAX_GAIN = 8.0


def thumbnail(rgb: np.ndarray) -> np.ndarray:
  """A frame [H, W, 3] (uint8 or float in [0, 1]) as float32 [16, 16, 3] in [0, 1]."""
  small = Image.fromarray(image_files.to_uint8(rgb, 'frame')).resize(
    (THUMBNAIL, THUMBNAIL), Image.Resampling.BOX
  )
  return np.asarray(small, np.float32) / 255.0


def scene_change(previous: np.ndarray, current: np.ndarray) -> float:
  """Mean absolute difference of two thumbnails: ~0.01-0.05 within a shot, more at a cut."""
  return float(np.mean(np.abs(previous - current)))


def ema_weight(half_life_s: float, fps: float) -> float:
  """Weight of the newest frame for a moving average whose memory halves in
  `half_life_s` seconds (1: no smoothing)."""
  if half_life_s <= 0:
    return 1.0
  return 1.0 - 0.5 ** (1.0 / (half_life_s * fps))


def exposure_ratio(previous: np.ndarray, current: np.ndarray) -> float:
  """The light's change between two thumbnails: the median of their luminance ratios, so
  that an object moving in front of the camera (a minority of pixels) does not count."""
  luma = np.asarray(LUMA, np.float32)
  return float(np.median((current @ luma + 0.02) / (previous @ luma + 0.02)))


class SmoothedStatistics:
  """DIN statistics averaged over the frames so far, with the light's changes taken out.

  `track` follows the exposure from frame to frame (changes under `EXPOSURE_DEADBAND`
  are noise and ignored) and finds scene cuts; the caller divides each frame by its gain,
  so a dimming room stays as frame-by-frame normalization would show it, and `update`
  averages the statistics of those compensated frames, restarting at each cut.
  """

  def __init__(self, weight: float, cut_threshold: float):
    if not 0.0 < weight <= 1.0:
      raise ValueError(f'moving-average weight must be in (0, 1], got {weight}')
    self.weight = weight
    self.cut_threshold = cut_threshold
    self.cuts = 0
    self._state = None
    self._thumbnail = None
    self._gain = 1.0

  def track(self, thumbnails: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gains [B], cut flags [B]) of B consecutive frames' thumbnails [B, 16, 16, 3]."""
    gains, cuts = [], []
    for thumb in thumbnails:
      ratio = 1.0 if self._thumbnail is None else exposure_ratio(self._thumbnail, thumb)
      # A change of the light alone is not a cut: compare with it divided out.
      cut = self._thumbnail is None or (
        scene_change(self._thumbnail * ratio, thumb) > self.cut_threshold
      )
      if cut:
        self.cuts += self._thumbnail is not None
        self._gain = 1.0
      elif abs(math.log(ratio)) > EXPOSURE_DEADBAND:
        self._gain = min(max(self._gain * ratio, 1 / MAX_GAIN), MAX_GAIN)
      self._thumbnail = thumb
      gains.append(self._gain)
      cuts.append(cut)
    return np.asarray(gains, np.float32), np.asarray(cuts)

  def update(self, own: Any, cuts: np.ndarray) -> Any:
    """Statistics for B consecutive frames from their own ({layer: (mean, var)} leaves
    [S, B, C]) and their cut flags: each frame's the average up to it."""
    out = []
    for b, cut in enumerate(cuts):
      frame = jax.tree.map(lambda x, b=b: np.asarray(x[:, b], np.float64), own)
      if cut or self._state is None:
        self._state = frame
      else:
        self._state = jax.tree.map(lambda s, x: s + self.weight * (x - s), self._state, frame)
      out.append(self._state)
    return jax.tree.map(lambda *xs: np.stack(xs, axis=1).astype(np.float32), *out)


def sample_indices(total: int, count: int) -> list[int]:
  """`count` frame indices spread evenly over `total` frames (all when fewer)."""
  if total <= count:
    return list(range(total))
  step = total / count
  return sorted({min(total - 1, int(math.floor((i + 0.5) * step))) for i in range(count)})


def frame_statistics(stylizer, contents: np.ndarray, din, max_side: int | None = None):
  """The DIN statistics of contents [B, H, W, 3] in [0, 1] under DIN params [S] of a JAX
  `Stylizer`: {layer: (mean, var)}, numpy leaves [S, B, C], from one pass over the
  contents (downscaled to `max_side` on the long side when larger), each layer normalized
  with its own statistics; what `Stylizer.stylize(..., stats=)` takes."""
  fns = stylizer.functions
  contents = image_arrays.to_float(contents)
  if max_side:
    contents = tiling.downscale(contents, max_side)
  din, count = fns.place_signals(din)
  padded, _ = tiling.pad_to_stride(contents)
  stats = fns.statistics(stylizer.params, fns.replicate(padded), din)
  return jax.tree.map(lambda x: np.asarray(x)[:count], stats)


def clip_statistics(stylizer, frames, din):
  """The exact DIN statistics of several frames of one size ([H, W, 3] each) taken as one
  image, under DIN params [S]: numpy leaves [S, 1, C] (`tiling.pooled_statistics`; one
  pass up to each DIN layer)."""
  padded = [tiling.pad_to_stride(image_arrays.to_float(f)[None])[0] for f in frames]
  din, count = stylizer.functions.place_signals(din)
  stats = tiling.pooled_statistics(stylizer.functions, stylizer.params, padded, din)
  return jax.tree.map(lambda x: np.asarray(x)[:count], stats)
