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

"""Temporal stability of a stylized clip: the warping error, with motion known exactly.

`known_motion_clip` films a photo with a virtual camera that pans and zooms while an
object (another part of the photo, upside down) crosses the view and, half way, the light
dims; so where every background pixel of frame t+1 was in frame t is known without an
optical-flow model. `warping_error` is the mean absolute difference between output frame
t+1 and output frame t warped by that motion, over the background pixels visible in both
(away from the object): 0 for a perfectly stable result. Per-frame normalization shifts
the whole picture's tone as the object passes, which raises it; `tone_flickers` is
that global part alone (the rest is texture shimmering in place, which statistics do not
cause).
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses

import numpy as np
from scipy import ndimage


@dataclasses.dataclass(frozen=True)
class KnownMotionClip:
  """Frames [T, H, W, 3] in [0, 1] and, per frame, the photo coordinates of its pixel
  (0, 0) (`origins` [T, 2] as (y, x)) and photo pixels per frame pixel (`scales` [T])."""

  frames: np.ndarray
  origins: np.ndarray
  scales: np.ndarray
  gains: np.ndarray  # the light's gain per frame
  objects: np.ndarray  # [T, H, W] bool: where the crossing object is (no known motion)

  def to_previous(self, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Where frame t's pixel grid lies in frame t-1: (rows, cols) [H, W] each."""
    height, width = self.frames.shape[1:3]
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    photo_y = self.origins[t, 0] + rows * self.scales[t]
    photo_x = self.origins[t, 1] + cols * self.scales[t]
    return (
      (photo_y - self.origins[t - 1, 0]) / self.scales[t - 1],
      (photo_x - self.origins[t - 1, 1]) / self.scales[t - 1],
    )


def known_motion_clip(
  photo: np.ndarray,
  num_frames: int,
  size: tuple[int, int],
  zoom: float = 1.3,
  pan: float = 0.25,
  light: float = 0.65,
  light_frames: int = 4,
  object_size: tuple[float, float] = (0.6, 0.45),
) -> KnownMotionClip:
  """A virtual camera over `photo` ([PH, PW, 3], uint8 or [0, 1]): `num_frames` frames of
  `size` (height, width), zooming in by `zoom` while panning right by `pan` of the
  photo's width; an object `object_size` (fractions of the frame) crosses from left to
  right; the light falls to `light` over `light_frames` frames half way."""
  photo = photo.astype(np.float64) / (255.0 if photo.dtype == np.uint8 else 1.0)
  height, width = size
  ph, pw = photo.shape[:2]
  start_scale = min((ph - 1) / (height - 1), (pw - 1) / (width - 1) / (1 + pan)) * 0.98
  smooth = ndimage.gaussian_filter(photo, (0.5 * start_scale, 0.5 * start_scale, 0))
  thing = crossing_object(photo, int(height * object_size[0]), int(width * object_size[1]))
  frames, origins, scales, gains, objects = [], [], [], [], []
  for t in range(num_frames):
    u = t / max(num_frames - 1, 1)
    scale = start_scale / zoom**u
    view_h, view_w = (height - 1) * scale, (width - 1) * scale
    center_y = (ph - 1) / 2
    center_x = (pw - 1) / 2 + (u - 0.5) * pan * (pw - 1) * 0.9
    origin = (center_y - view_h / 2, min(max(center_x - view_w / 2, 0), pw - 1 - view_w))
    rows = origin[0] + np.arange(height)[:, None] * scale
    cols = origin[1] + np.arange(width)[None, :] * scale
    grid = np.broadcast_arrays(rows, cols)
    frame = np.stack(
      [ndimage.map_coordinates(smooth[..., c], grid, order=1) for c in range(3)], axis=-1
    )
    mask = place_object(frame, thing, u)
    ramp = min(max((t - num_frames / 2) / max(light_frames, 1) + 0.5, 0.0), 1.0)
    gain = 1.0 + (light - 1.0) * ramp
    frames.append(np.clip(frame * gain, 0.0, 1.0))
    origins.append(origin)
    scales.append(scale)
    gains.append(gain)
    objects.append(mask)
  return KnownMotionClip(
    np.asarray(frames, np.float32),
    np.asarray(origins),
    np.asarray(scales),
    np.asarray(gains),
    np.asarray(objects),
  )


def crossing_object(photo: np.ndarray, height: int, width: int) -> np.ndarray:
  """The object that crosses the view: the photo's upper-left part upside down."""
  part = photo[: photo.shape[0] // 2, : photo.shape[1] // 2][::-1]
  zoom = (height / part.shape[0], width / part.shape[1], 1)
  return np.clip(ndimage.zoom(part, zoom, order=1) * 0.4, 0.0, 1.0)[:height, :width]


def place_object(frame: np.ndarray, thing: np.ndarray, u: float) -> np.ndarray:
  """Pastes `thing` into `frame` (in place) at crossing position `u` in [0, 1] (from just
  outside the left edge to just outside the right), vertically centred; its mask."""
  height, width = frame.shape[:2]
  th, tw = thing.shape[:2]
  left = int(round(-tw + u * (width + tw)))
  top = (height - th) // 2
  x0, x1 = max(left, 0), min(left + tw, width)
  mask = np.zeros((height, width), bool)
  if x1 > x0:
    frame[top : top + th, x0:x1] = thing[:, x0 - left : x1 - left]
    mask[top : top + th, x0:x1] = True
  return mask


def pair_differences(
  outputs: np.ndarray, clip: KnownMotionClip, margin: float = 2.0, object_margin: int = 12
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
  """Per frame pair t-1 -> t: (output[t] - output[t-1] warped to frame t [H, W, 3], the
  background pixels of frame t that lie inside frame t-1 (`margin` pixels from its edges)
  and at least `object_margin` pixels from the crossing object in either frame)."""
  outputs = np.asarray(outputs)
  outputs = outputs / 255.0 if outputs.dtype == np.uint8 else outputs.astype(np.float64)
  height, width = outputs.shape[1:3]
  for t in range(1, len(outputs)):
    rows, cols = clip.to_previous(t)
    inside = (rows >= margin) & (rows <= height - 1 - margin)
    inside &= (cols >= margin) & (cols <= width - 1 - margin)
    was_object = ndimage.map_coordinates(
      clip.objects[t - 1].astype(np.float32), (rows, cols), order=1
    )
    near = ndimage.binary_dilation((was_object > 0) | clip.objects[t], iterations=object_margin)
    warped = np.stack(
      [ndimage.map_coordinates(outputs[t - 1, ..., c], (rows, cols), order=1) for c in range(3)],
      axis=-1,
    )
    yield outputs[t] - warped, inside & ~near


def warping_errors(outputs: np.ndarray, clip: KnownMotionClip, **margins) -> np.ndarray:
  """Per frame pair [T - 1]: the mean absolute difference between output frame t and
  frame t-1 warped to it, over the visible background (`pair_differences`)."""
  return np.asarray(
    [np.mean(np.abs(d[visible])) for d, visible in pair_differences(outputs, clip, **margins)]
  )


def tone_flickers(outputs: np.ndarray, clip: KnownMotionClip, **margins) -> np.ndarray:
  """Per frame pair [T - 1]: the part of the warping error that is a change of the whole
  picture's tone: |mean difference| over the visible background, averaged over the
  colour channels. Texture that shimmers in place averages out; a shift of the
  normalization does not."""
  return np.asarray(
    [
      np.mean(np.abs(np.mean(d[visible], axis=0)))
      for d, visible in pair_differences(outputs, clip, **margins)
    ]
  )


def lighting_pairs(clip: KnownMotionClip) -> np.ndarray:
  """[T - 1] bool: the frame pairs across which the light changes."""
  return np.abs(np.diff(clip.gains)) > 1e-9


def warping_error(outputs: np.ndarray, clip: KnownMotionClip) -> float:
  """The mean of `warping_errors`: one number for a clip."""
  return float(np.mean(warping_errors(outputs, clip)))
