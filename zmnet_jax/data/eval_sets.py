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

"""Evaluation images: fixed, deterministic sets of squares, loaded whole or in chunks."""

from __future__ import annotations

from collections.abc import Sequence
import concurrent.futures
import logging
import os
from pathlib import Path

import numpy as np

from zmnet_jax.data import image_arrays
from zmnet_jax.data.image_files import DataError, ImageError, list_images, load_image

_LOG = logging.getLogger(__name__)


def load_eval_images(
  folder: str | os.PathLike, size: int, limit: int | None = None
) -> tuple[list[str], np.ndarray]:
  """Loads up to ``limit`` images, short side resized to ``size``, centered.

  Returns:
    Names (paths relative to ``folder``, sorted) and float32
    ``[N, size, size, 3]`` images in [0, 1]. Undecodable files are skipped
    with a warning.

  Raises:
    ImageError: the folder is missing or holds no images.
    DataError: none of the images could be decoded.
  """
  paths = list_images(folder)
  names, loaded = [], []
  for path in paths:
    if limit is not None and len(loaded) >= limit:
      break
    try:
      image = load_image(path)
    except ImageError as e:
      _LOG.warning('Skipping evaluation image: %s', e)
      continue
    loaded.append(image_arrays.square(image, size))
    names.append(Path(os.path.relpath(path, folder)).as_posix())
  if not loaded:
    raise DataError(f'{folder}: none of the {len(paths)} images could be decoded')
  return names, image_arrays.to_float(np.stack(loaded))


def select_evenly(paths: Sequence[str], limit: int | None) -> list[str]:
  """`limit` of `paths` spread evenly over the list (every sub-folder gets its share)."""
  if limit is None or limit >= len(paths):
    return list(paths)
  return [paths[i * len(paths) // limit] for i in range(limit)]


def load_square(path: str, size: int) -> np.ndarray:
  """An image file as float32 [size, size, 3] in [0, 1], as `load_eval_images` makes it."""
  return image_arrays.to_float(image_arrays.square(load_image(path), size))


def _try_load(path: str, size: int):
  try:
    return load_square(path, size)
  except ImageError as e:
    return e


def image_chunks(
  paths: Sequence[str],
  root: str,
  size: int,
  chunk: int,
  skipped: list[str] | None = None,
  workers: int = 4,
):
  """(names relative to `root`, images [n, size, size, 3]) per `chunk` paths, decoded on
  threads one chunk ahead. Undecodable files are logged, appended to `skipped` and left out.
  """
  groups = [list(paths[i : i + chunk]) for i in range(0, len(paths), chunk)]
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:

    def submit(group):
      return [pool.submit(_try_load, p, size) for p in group]

    pending = submit(groups[0]) if groups else []
    for index, group in enumerate(groups):
      current = pending
      pending = submit(groups[index + 1]) if index + 1 < len(groups) else []
      names, loaded = [], []
      for path, future in zip(group, current, strict=True):
        result = future.result()
        if isinstance(result, ImageError):
          _LOG.warning('skipping style image: %s', result)
          if skipped is not None:
            skipped.append(path)
          continue
        names.append(Path(os.path.relpath(path, root)).as_posix())
        loaded.append(result)
      if loaded:
        yield names, np.stack(loaded)
