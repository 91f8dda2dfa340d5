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

"""An image folder packed into one `.npz` file of JPEG bytes: training data that travels.

`pack_folder` re-encodes every image (short side at most `short_side`) into one file;
`PackedImages` reads it back as the random-access source the training stream takes, with
the same elements as a prepared TFDS folder ({'image': JPEG bytes, 'label', 'filename'}).
A `data.content_dir` or `data.style_dir` that names a `.npz` file is read this way, with
no TFDS preparation: what an accelerator without TensorFlow Datasets trains from.
"""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path

import numpy as np

from zmnet_jax import files
from zmnet_jax.data import image_arrays
from zmnet_jax.data.image_files import DataError, ImageError, encode_jpeg, list_images, load_image

SUFFIX = '.npz'


def is_packed(path: str) -> bool:
  return str(path).endswith(SUFFIX) and os.path.isfile(path)


def _encode(path: str, short_side: int, quality: int) -> bytes | None:
  try:
    image = load_image(path)
  except ImageError:
    return None
  if min(image.shape[:2]) > short_side:
    image = image_arrays.resize_short_side(image, short_side)
  return encode_jpeg(image, quality)


def pack_folder(
  folder: str, out: str, short_side: int, quality: int = 85, limit: int | None = None
) -> int:
  """Packs the images of `folder` (the first `limit` spread evenly, if given) into `out`;
  returns how many. Undecodable files are left out."""
  paths = list_images(folder)
  if limit is not None and limit < len(paths):
    paths = [paths[i * len(paths) // limit] for i in range(limit)]
  with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
    encoded = list(pool.map(lambda p: _encode(p, short_side, quality), paths))
  kept = [(p, e) for p, e in zip(paths, encoded, strict=True) if e is not None]
  if not kept:
    raise DataError(f'{folder}: no decodable images to pack')
  names = [Path(os.path.relpath(p, folder)).as_posix() for p, _ in kept]
  sizes = np.array([len(e) for _, e in kept], np.int64)
  offsets = np.concatenate([[0], np.cumsum(sizes)])
  data = np.frombuffer(b''.join(e for _, e in kept), np.uint8)
  with files.atomic_path(out) as tmp, open(tmp, 'wb') as f:
    np.savez(f, data=data, offsets=offsets, names=np.array(names))
  return len(kept)


class PackedImages:
  """The images of a packed file as a random-access sequence of TFDS-like elements."""

  def __init__(self, path: str):
    try:
      with np.load(path, allow_pickle=False) as packed:
        self._data, self._offsets = packed['data'], packed['offsets']
        self._names = [str(n) for n in packed['names']]
    except (OSError, ValueError, KeyError) as e:
      raise DataError(f'{path}: not a packed image file ({e})') from e
    if len(self._offsets) != len(self._names) + 1 or not self._names:
      raise DataError(f'{path}: damaged packed image file (offsets do not match names)')
    self.path = path

  def __len__(self) -> int:
    return len(self._names)

  def __getitem__(self, index: int) -> dict:
    start, end = int(self._offsets[index]), int(self._offsets[index + 1])
    name = self._names[index]
    label = name.rsplit('/', 1)[0] if '/' in name else ''
    return {
      'image': self._data[start:end].tobytes(),
      'label': label.encode(),
      'filename': name.encode(),
    }
