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

"""A tiny default dataset built from images shipped inside installed wheels.

Photos (contents) and textures / colourful images (styles) come from
scikit-image (``skimage.data``, only images bundled in the wheel, no network),
scikit-learn (``load_sample_image``) and matplotlib (``mpl-data/sample_data``).
A couple of contents and styles are held out in the ``*_val`` folders. Enough
for smoke tests and demos, far too small for a useful model.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import os
from pathlib import Path
import types

import numpy as np

from zmnet_jax import files
from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.data.image_files import load_image

MAX_SHORT_SIDE = 512
_MANIFEST = 'MANIFEST.json'
_MANIFEST_VERSION = 1


def _skimage(name: str) -> Callable[[], np.ndarray]:
  def load() -> np.ndarray:
    import skimage.data

    return getattr(skimage.data, name)()

  return load


def _motorcycle() -> np.ndarray:
  import skimage.data

  left, _, _ = skimage.data.stereo_motorcycle()
  return left


def _sklearn(filename: str) -> Callable[[], np.ndarray]:
  def load() -> np.ndarray:
    from sklearn.datasets import load_sample_image

    return load_sample_image(filename)

  return load


def _matplotlib_photo(filename: str) -> Callable[[], np.ndarray]:
  def load() -> np.ndarray:
    from matplotlib import cbook

    return load_image(cbook.get_sample_data(filename, asfileobj=False))

  return load


def _jacksboro_relief() -> np.ndarray:
  """Hill-shaded, colour-mapped elevation model (matplotlib sample data)."""
  import matplotlib
  from matplotlib import cbook, colors

  elevation = cbook.get_sample_data('jacksboro_fault_dem.npz')['elevation']
  shaded = colors.LightSource(azdeg=315, altdeg=45).shade(
    elevation.astype(np.float64),
    cmap=matplotlib.colormaps['gist_earth'],
    vert_exag=0.05,
    blend_mode='overlay',
  )
  return shaded[..., :3]


# folder -> {file stem: loader}; read-only.
IMAGES = types.MappingProxyType(
  {
    'content_train': types.MappingProxyType(
      {
        'astronaut': _skimage('astronaut'),
        'coffee': _skimage('coffee'),
        'rocket': _skimage('rocket'),
        'camera': _skimage('camera'),
        'motorcycle': _motorcycle,
        'grace_hopper': _matplotlib_photo('grace_hopper.jpg'),
        'flower': _sklearn('flower.jpg'),
      }
    ),
    'content_val': types.MappingProxyType(
      {
        'chelsea': _skimage('chelsea'),
        'china': _sklearn('china.jpg'),
      }
    ),
    'style_train': types.MappingProxyType(
      {
        'brick': _skimage('brick'),
        'grass': _skimage('grass'),
        'hubble_deep_field': _skimage('hubble_deep_field'),
        'colorwheel': _skimage('colorwheel'),
        'retina': _skimage('retina'),
        'skimage_logo': _skimage('logo'),
        'jacksboro_relief': _jacksboro_relief,
      }
    ),
    'style_val': types.MappingProxyType(
      {
        'immunohistochemistry': _skimage('immunohistochemistry'),
        'gravel': _skimage('gravel'),
      }
    ),
  }
)


def materialize_embedded_data(root: str | os.PathLike) -> dict[str, str]:
  """Writes the embedded images as PNG files below ``root`` (once).

  Returns:
    ``{'content_train', 'style_train', 'content_val', 'style_val'}`` mapped to
    folder paths. A complete earlier run is reused without rewriting.
  """
  root = Path(root)
  folders = {name: str(root / name) for name in IMAGES}
  if _is_complete(root):
    return folders
  for folder, loaders in IMAGES.items():
    for stem, load in loaders.items():
      path = root / folder / f'{stem}.png'
      if not path.exists():
        _write_atomically(path, _to_rgb(load()))
  files.write_json(root / _MANIFEST, _manifest(), indent=1)
  return folders


def _manifest() -> dict:
  listing = {folder: sorted(loaders) for folder, loaders in IMAGES.items()}
  return {'version': _MANIFEST_VERSION, 'files': listing}


def _is_complete(root: Path) -> bool:
  try:
    manifest = json.loads((root / _MANIFEST).read_text())
  except (OSError, ValueError):
    return False
  return manifest == _manifest() and all(
    (root / folder / f'{stem}.png').is_file()
    for folder, loaders in IMAGES.items()
    for stem in loaders
  )


def _to_rgb(image: np.ndarray) -> np.ndarray:
  """Any loader output (gray, RGB, RGBA, float) -> uint8 RGB, short side
  at most ``MAX_SHORT_SIDE``."""
  if np.issubdtype(image.dtype, np.floating):
    image = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
  if image.ndim == 2:
    image = np.repeat(image[..., None], 3, axis=-1)
  if image.shape[-1] == 4:
    alpha = image[..., 3:].astype(np.float32) / 255.0
    blended = image[..., :3] * alpha + 255.0 * (1.0 - alpha)
    image = np.round(blended).astype(np.uint8)
  if min(image.shape[:2]) > MAX_SHORT_SIDE:
    image = image_arrays.resize_short_side(image, MAX_SHORT_SIDE)
  return image


def _write_atomically(path: Path, image: np.ndarray) -> None:
  with files.atomic_path(path) as tmp:
    image_files.save_image(tmp, image)
