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

"""Robust image reading and writing, shared by training and inference.

Every decoder entry point returns ``uint8 [H, W, 3]`` RGB with EXIF orientation
applied, or raises :class:`ImageError` with a one-line message that names the
file and the problem. Nothing is silently guessed: unsupported pixel formats
are errors, not approximations.
"""

from __future__ import annotations

from collections.abc import Iterator
import errno
import io
import os
from pathlib import Path
import stat

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from zmnet_jax import files
from zmnet_jax.data import image_arrays

IMAGE_EXTENSIONS = frozenset({'.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'})
# Larger decoded images are refused (every command's --max-pixels default); below
# Pillow's own decompression-bomb warning threshold (~89.5 M pixels).
DEFAULT_MAX_PIXELS = 50_000_000
# Style images are encoded whole (no tiles): VGG activations of a 4 M pixel style take ~3 GB.
MAX_STYLE_PIXELS = 2048 * 2048
# Larger files are refused before they are read (a 50 M pixel PNG is ~150 MB at worst).
MAX_FILE_BYTES = 512 * 2**20
JPEG_QUALITY = 95

_SIXTEEN_BIT_MODES = frozenset({'I;16', 'I;16L', 'I;16B', 'I;16N', 'I'})
_ALPHA_MODES = frozenset({'RGBA', 'LA', 'PA', 'La', 'RGBa'})
_OUTPUT_FORMATS = {'.png': 'PNG', '.jpg': 'JPEG', '.jpeg': 'JPEG'}


class ImageError(ValueError):
  """An image file or folder that cannot be used, with a one-line reason."""


class DataError(ValueError):
  """The input data or its configuration cannot be used (one-line reason)."""


def load_image(
  path: str | os.PathLike,
  max_pixels: int = DEFAULT_MAX_PIXELS,
  short_side: int | None = None,
  option: str = '--size',
) -> np.ndarray:
  """Reads an image file as ``uint8 [H, W, 3]`` RGB; with `short_side`, resized so its
  short side is that (refused first when the result would exceed `max_pixels`; `option`
  names the setting in that message)."""
  image = decode_image_bytes(read_bytes(path), str(path), max_pixels)
  if short_side:
    check_resize(str(path), image.shape[:2], short_side, max_pixels, option)
    image = image_arrays.resize_short_side(image, short_side)
  return image


def check_resize(
  name: str,
  shape: tuple[int, int],
  short_side: int,
  max_pixels: int,
  option: str = '--size',
  limit: str = '--max-pixels',
) -> tuple[int, int]:
  """(height, width) of an image of `shape` resized to `short_side`; ImageError when that
  is more than `max_pixels` (`option` and `limit` name the settings in the message)."""
  new = image_arrays.scaled_shape(*shape, short_side)
  if new[0] * new[1] > max_pixels:
    raise ImageError(
      f'{name}: {option} {short_side} makes it {new[1]}x{new[0]} = {new[0] * new[1]:,} pixels '
      f'(more than {limit} {max_pixels:,})'
    )
  return new


def read_bytes(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> bytes:
  """Reads a whole regular file, raising ImageError (naming it) when it cannot: missing,
  a folder, a FIFO or device (which could block forever), a link loop, too large."""
  check_regular_file(path, max_bytes)
  try:
    return Path(path).read_bytes()
  except OSError as e:
    raise ImageError(f'{path}: cannot read file ({_os_reason(e)})') from e


def check_regular_file(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> None:
  """ImageError unless `path` (links followed) is a regular file of at most `max_bytes`."""
  try:
    info = os.stat(path)
  except FileNotFoundError as e:
    if os.path.islink(path):
      raise ImageError(f'{path}: broken symbolic link (to {os.readlink(path)})') from e
    raise ImageError(f'{path}: file not found') from e
  except OSError as e:
    if e.errno == errno.ELOOP:
      raise ImageError(f'{path}: symbolic link loop') from e
    raise ImageError(f'{path}: cannot read file ({_os_reason(e)})') from e
  if stat.S_ISDIR(info.st_mode):
    raise ImageError(f'{path}: is a folder, not an image file')
  if not stat.S_ISREG(info.st_mode):
    raise ImageError(f'{path}: not a regular file ({_file_kind(info.st_mode)})')
  if info.st_size > max_bytes:
    raise ImageError(
      f'{path}: file too large ({info.st_size:,} bytes; at most {max_bytes:,} are read)'
    )


def _file_kind(mode: int) -> str:
  kinds = (
    (stat.S_ISFIFO, 'a FIFO'),
    (stat.S_ISSOCK, 'a socket'),
    (stat.S_ISCHR, 'a character device'),
    (stat.S_ISBLK, 'a block device'),
  )
  return next((name for test, name in kinds if test(mode)), 'not a plain file')


def decode_image_bytes(
  data: bytes, name: str = '<bytes>', max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
  """Decodes encoded image bytes as ``uint8 [H, W, 3]`` RGB.

  Args:
    data: the encoded file contents (JPEG, PNG, BMP, WebP, TIFF, ...).
    name: how to name the image in error messages (usually its path).
    max_pixels: larger images are refused (protects against huge inputs).

  Raises:
    ImageError: empty, unrecognized, truncated or corrupt data, too many
      pixels, or a pixel format that has no faithful 8-bit RGB conversion.
  """
  if not data:
    raise ImageError(f'{name}: empty file (0 bytes)')
  try:
    with Image.open(io.BytesIO(data)) as image:
      _check_pixel_count(image, name, max_pixels)
      image.load()
      oriented = ImageOps.exif_transpose(image)
    return _to_rgb_uint8(oriented, name)
  except ImageError:
    raise
  except Image.DecompressionBombError as e:
    raise ImageError(f'{name}: too many pixels ({_one_line(e)})') from e
  except UnidentifiedImageError as e:
    raise ImageError(f'{name}: not a recognized image file') from e
  except Exception as e:  # Pillow raises many types for corrupt data.
    raise ImageError(f'{name}: truncated or corrupt image ({_one_line(e)})') from e


def save_image(path: str | os.PathLike, image: np.ndarray, quality: int = JPEG_QUALITY) -> None:
  """Writes ``image`` as PNG or JPEG (chosen by the file extension).

  Args:
    path: output file, written to a temporary name and renamed (a reader never sees
      half of it); missing parent folders are created.
    image: ``[H, W, 3]``, ``[H, W, 1]`` or ``[H, W]``; float values in [0, 1]
      (clipped) or uint8.
    quality: JPEG quality.

  Raises:
    ImageError: unsupported extension, invalid array, or unwritable path.
  """
  path = Path(path)
  image_format = _OUTPUT_FORMATS.get(path.suffix.lower())
  if image_format is None:
    raise ImageError(f'{path}: unsupported output format {path.suffix!r} (use .png, .jpg or .jpeg)')
  pil_image = Image.fromarray(to_uint8(image, str(path)))
  try:
    with files.atomic_path(path) as tmp:
      pil_image.save(tmp, format=image_format, quality=quality)
  except OSError as e:
    raise ImageError(f'{path}: cannot write image ({_os_reason(e)})') from e


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
  """Encodes a ``uint8 [H, W, 3]`` array as JPEG bytes."""
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format='JPEG', quality=quality)
  return buffer.getvalue()


def list_images(folder: str | os.PathLike, recursive: bool = True) -> list[str]:
  """Returns the sorted paths of the image files in ``folder``.

  Matches the extensions in ``IMAGE_EXTENSIONS`` case-insensitively; hidden
  files and folders (names starting with '.') are ignored.

  Raises:
    ImageError: the folder is missing, not a folder, or holds no images.
  """
  return scan_images(folder, recursive)[0]


def scan_images(
  folder: str | os.PathLike, recursive: bool = True
) -> tuple[list[str], list[tuple[str, str]]]:
  """(the sorted paths `list_images` returns, and (path, why) of the non-hidden entries
  it leaves out, sorted) from one walk of ``folder``; why is 'a link loop', 'a broken
  link', 'not a regular file' (FIFO, device, socket) or 'not an image'."""
  root = Path(folder)
  if not root.exists():
    raise ImageError(f'{folder}: folder not found')
  if not root.is_dir():
    raise ImageError(f'{folder}: not a folder')
  found, left = [], []
  for path in _walk_names(root) if recursive else _top_level_names(root):
    if why := _left_out_because(path):
      left.append((str(path), why))
    elif path.is_file():  # (not a folder met at the top level)
      found.append(str(path))
  if not found:
    where = ' (searched recursively)' if recursive else ''
    extensions = ', '.join(sorted(IMAGE_EXTENSIONS))
    raise ImageError(f'{folder}: no image files ({extensions}) found{where}')
  return sorted(found), sorted(left)


def to_uint8(image: np.ndarray, name: str = '<array>') -> np.ndarray:
  """Converts a float [0, 1] (clipped) or uint8 image array to uint8."""
  array = np.asarray(image)
  if array.ndim == 3 and array.shape[-1] == 1:
    array = array[..., 0]
  if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] != 3):
    raise ImageError(f'{name}: expected an image of shape [H, W, 3] or [H, W], got {array.shape}')
  if array.dtype == np.uint8:
    return array
  if not np.issubdtype(array.dtype, np.floating):
    raise ImageError(f'{name}: expected float values in [0, 1] or uint8, got {array.dtype}')
  if not np.all(np.isfinite(array)):
    raise ImageError(f'{name}: image contains NaN or infinite values')
  return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def _check_pixel_count(image: Image.Image, name: str, max_pixels: int) -> None:
  width, height = image.size
  if width * height > max_pixels:
    raise ImageError(
      f'{name}: too many pixels ({width}x{height} = {width * height:,} > max_pixels={max_pixels:,})'
    )


def _to_rgb_uint8(image: Image.Image, name: str) -> np.ndarray:
  """Converts any supported Pillow mode to an RGB uint8 array."""
  mode = image.mode
  if mode == 'RGB':
    return np.array(image)
  if mode in _SIXTEEN_BIT_MODES:
    return _sixteen_bit_to_rgb(np.asarray(image))
  if mode == 'F':
    raise ImageError(f'{name}: unsupported floating-point image (mode F): value range unknown')
  if _has_alpha(image):
    return _composite_on_white(image)
  try:
    return np.array(image.convert('RGB'))
  except ValueError as e:
    raise ImageError(f'{name}: unsupported image mode {mode!r}') from e


def _sixteen_bit_to_rgb(values: np.ndarray) -> np.ndarray:
  """Maps 16-bit intensities (0..65535; mode I is read as 16-bit) to RGB."""
  clipped = np.clip(values.astype(np.float64), 0, 65535)
  gray = np.round(clipped / 257.0).astype(np.uint8)
  return np.repeat(gray[..., None], 3, axis=-1)


def _has_alpha(image: Image.Image) -> bool:
  return image.mode in _ALPHA_MODES or 'transparency' in image.info


def _composite_on_white(image: Image.Image) -> np.ndarray:
  rgba = image.convert('RGBA')
  white = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
  return np.array(Image.alpha_composite(white, rgba).convert('RGB'))


def _left_out_because(path: Path) -> str | None:
  try:
    mode = os.stat(path).st_mode
  except OSError as e:
    return {errno.ELOOP: 'a link loop', errno.ENOENT: 'a broken link'}.get(e.errno, _os_reason(e))
  if stat.S_ISDIR(mode):
    return None
  if not stat.S_ISREG(mode):
    return 'not a regular file'
  return None if _is_image_name(path.name) else 'not an image'


def _walk_names(root: Path) -> Iterator[Path]:
  """Yields the non-hidden names of non-folders below ``root`` (files, and links that
  lead nowhere), following links to folders without loops."""
  visited = set()
  for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
    real = os.path.realpath(dirpath)
    if real in visited:
      dirnames[:] = []
      continue
    visited.add(real)
    dirnames[:] = [d for d in dirnames if not d.startswith('.')]
    yield from (Path(dirpath, name) for name in filenames if not name.startswith('.'))


def _top_level_names(root: Path) -> Iterator[Path]:
  return (p for p in root.iterdir() if not p.name.startswith('.'))


def _is_image_name(filename: str) -> bool:
  return Path(filename).suffix.lower() in IMAGE_EXTENSIONS


def _one_line(error: BaseException) -> str:
  text = ' '.join(str(error).split()) or type(error).__name__
  return text if len(text) <= 200 else text[:197] + '...'


def _os_reason(error: OSError) -> str:
  return error.strerror or _one_line(error)
