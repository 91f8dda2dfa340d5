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

"""Image arrays in memory: pixel types, the one short-side resize, crops, padding, grids.

Decoded images are `uint8 [H, W, 3]`; the networks read `float32` in [0, 1]. Training,
evaluation and inference all resize through `resize_short_side` (antialiased bicubic, as
Pillow does it), so a style is seen at the same scale and filtering everywhere.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def to_float(image: np.ndarray) -> np.ndarray:
  """uint8 pixels -> float32 in [0, 1] (float input is returned as float32)."""
  image = np.asarray(image)
  if image.dtype == np.uint8:
    return image.astype(np.float32) / 255.0
  return image.astype(np.float32)


def round_up(value: int, multiple: int) -> int:
  """The smallest multiple of `multiple` that is at least `value`."""
  return -(-int(value) // multiple) * multiple


def scaled_shape(height: int, width: int, short_side: int) -> tuple[int, int]:
  """The (height, width) with shorter side `short_side`, aspect kept."""
  scale = short_side / min(height, width)
  return (max(short_side, round(height * scale)), max(short_side, round(width * scale)))


def resize_short_side(image: np.ndarray, size: int) -> np.ndarray:
  """Resizes `[H, W, 3]` (antialiased bicubic) so its shorter side is `size`.

  uint8 in, uint8 out; float in [0, 1] in, float32 out (resampled per channel at float
  precision, then clipped to [0, 1]). Up or down.
  """
  height, width = image.shape[:2]
  new_height, new_width = scaled_shape(height, width, size)
  if (new_height, new_width) == (height, width):
    return image
  if image.dtype == np.uint8:
    resized = Image.fromarray(image).resize((new_width, new_height), Image.Resampling.BICUBIC)
    return np.asarray(resized)
  channels = [
    np.asarray(
      Image.fromarray(np.ascontiguousarray(image[..., c], np.float32), mode='F').resize(
        (new_width, new_height), Image.Resampling.BICUBIC
      )
    )
    for c in range(image.shape[-1])
  ]
  return np.clip(np.stack(channels, axis=-1), 0.0, 1.0)


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
  """Crops the central `size` x `size` square."""
  height, width = image.shape[:2]
  if min(height, width) < size:
    raise ValueError(f'cannot crop {size}x{size} from {height}x{width}')
  top, left = (height - size) // 2, (width - size) // 2
  return image[top : top + size, left : left + size]


def square(image: np.ndarray, size: int) -> np.ndarray:
  """Short side resized to `size`, then the central square: how evaluation sees images."""
  return center_crop(resize_short_side(image, size), size)


def pad_with_last(items: np.ndarray, size: int) -> np.ndarray:
  """Repeats the last item along axis 0 until there are `size` (one compiled shape)."""
  items = np.asarray(items)
  missing = size - len(items)
  if missing <= 0:
    return items
  return np.concatenate([items, np.repeat(items[-1:], missing, axis=0)])


def fit(image: np.ndarray, h: int, w: int) -> np.ndarray:
  """Nearest-neighbour resize to exactly h x w (thumbnails only)."""
  rows = (np.arange(h) * image.shape[0] / h).astype(int)
  cols = (np.arange(w) * image.shape[1] / w).astype(int)
  return image[rows][:, cols]


def contact_sheet(contents: np.ndarray, styles: np.ndarray, outputs: np.ndarray) -> np.ndarray:
  """Grid image: styles along the top, contents down the left, outputs[s, c] in the cells."""
  num_styles, num_contents, h, w = outputs.shape[:4]
  pad = 2
  sheet = np.ones(((num_contents + 1) * (h + pad), (num_styles + 1) * (w + pad), 3), np.float32)

  def put(row, col, image):
    image = fit(to_float(image), h, w)
    sheet[row * (h + pad) : row * (h + pad) + h, col * (w + pad) : col * (w + pad) + w] = image

  for s in range(num_styles):
    put(0, s + 1, styles[s])
  for c in range(num_contents):
    put(c + 1, 0, contents[c])
    for s in range(num_styles):
      put(c + 1, s + 1, outputs[s, c])
  return np.clip(sheet, 0.0, 1.0)
