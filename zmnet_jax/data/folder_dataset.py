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

"""Image folders prepared once as TFDS datasets (ArrayRecord files, no TensorFlow).

An image folder is prepared into ``data_dir`` by :class:`ImageFolderDataset`, a TFDS
``GeneratorBasedBuilder`` writing ArrayRecord files. Its config name encodes a hash of the
folder's file list, so a changed folder is prepared again and an unchanged one is reused.
Readers get a random-access source through ``as_data_source``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import concurrent.futures
import dataclasses
import hashlib
import io
import logging
import os
from pathlib import Path
import re
import time
from typing import Any

from PIL import Image
import tensorflow_datasets as tfds

from zmnet_jax.data import image_arrays
from zmnet_jax.data.image_files import (
  DataError,
  ImageError,
  decode_image_bytes,
  encode_jpeg,
  list_images,
  read_bytes,
)

_STORAGE_FORMAT_VERSION = 1  # Bump when the stored bytes change meaning.
_PREPARE_CHUNK = 256
_MAX_LISTED_SKIPS = 10
_LOG = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class ImageFolderConfig(tfds.core.BuilderConfig):
  """An image folder to prepare; build it with :func:`image_folder_config`."""

  source_dir: str = ''
  store_short_side: int = 512
  num_files: int = 0


def image_folder_config(source_dir: str | os.PathLike, store_short_side: int) -> ImageFolderConfig:
  """Lists ``source_dir`` and names a config after its contents.

  Raises:
    ImageError: the folder is missing or holds no images.
  """
  files = list_images(source_dir)
  root = os.path.abspath(source_dir)
  fingerprint = folder_fingerprint(root, files, store_short_side)
  return ImageFolderConfig(
    name=f'{_slug(root)}_s{store_short_side}_{fingerprint[:16]}',
    description=f'Images of {root}, short side <= {store_short_side}.',
    source_dir=root,
    store_short_side=store_short_side,
    num_files=len(files),
  )


def folder_fingerprint(root: str, files: Sequence[str], store_short_side: int) -> str:
  """Hash of the file list (relative paths, sizes, mtimes) and settings."""
  digest = hashlib.sha256(f'v{_STORAGE_FORMAT_VERSION};s{store_short_side}\n'.encode())
  for path in files:
    stat = os.stat(path)
    relative = Path(os.path.relpath(path, root)).as_posix()
    digest.update(f'{relative}\t{stat.st_size}\t{stat.st_mtime_ns}\n'.encode())
  return digest.hexdigest()


class _LocalDatasetInfo(tfds.core.DatasetInfo):
  """DatasetInfo that never looks for published metadata.

  TFDS calls ``initialize_from_bucket`` for every unprepared builder, which
  creates (and leaves behind) an empty temporary folder even though GCS
  access is disabled.
  """

  def initialize_from_bucket(self) -> None:
    pass


class ImageFolderDataset(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Images of one folder (recursively) as a single 'train' split.

  Features: ``image`` (JPEG bytes, short side at most ``store_short_side``),
  ``label`` (sub-folder relative to the root, '' at top level) and
  ``filename`` (path relative to the root).
  """

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.'}

  def _info(self) -> tfds.core.DatasetInfo:
    return _LocalDatasetInfo(
      builder=self,
      description=self.builder_config.description,
      features=tfds.features.FeaturesDict(
        {
          'image': tfds.features.Image(shape=(None, None, 3), encoding_format='jpeg'),
          'label': tfds.features.Text(),
          'filename': tfds.features.Text(),
        }
      ),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    return {'train': self._generate_examples()}

  def _generate_examples(self):
    config = self.builder_config
    files = list_images(config.source_dir)
    skipped = []
    start = time.monotonic()
    _LOG.info(
      'Preparing %d images of %s (short side <= %d).',
      len(files),
      config.source_dir,
      config.store_short_side,
    )
    for path, result in _encode_all(files, config.store_short_side):
      relative = Path(os.path.relpath(path, config.source_dir))
      if isinstance(result, ImageError):
        skipped.append(f'{relative.as_posix()} ({_reason(result, path)})')
        continue
      label = relative.parent.as_posix()
      yield (
        relative.as_posix(),
        {
          'image': result,
          'label': '' if label == '.' else label,
          'filename': relative.as_posix(),
        },
      )
    _log_preparation(config.source_dir, files, skipped, start)
    if len(skipped) == len(files):
      raise DataError(f'{config.source_dir}: no decodable images')


def encode_for_storage(path: str, store_short_side: int) -> bytes:
  """Validates an image file and returns JPEG bytes to store.

  A plain RGB JPEG that is small enough is stored as is (lossless, fast);
  anything else is decoded robustly, shrunk so its short side is at most
  ``store_short_side`` and re-encoded as JPEG.

  Raises:
    ImageError: the file cannot be read or decoded.
  """
  data = read_bytes(path)
  image = decode_image_bytes(data, path)
  if min(image.shape[:2]) <= store_short_side and _is_plain_rgb_jpeg(data):
    return data
  if min(image.shape[:2]) > store_short_side:
    image = image_arrays.resize_short_side(image, store_short_side)
  return encode_jpeg(image)


def prepare_image_folder(
  source_dir: str | os.PathLike,
  data_dir: str | os.PathLike,
  store_short_side: int = 512,
) -> ImageFolderDataset:
  """Prepares ``source_dir`` into ``data_dir`` unless already prepared."""
  return prepare(image_folder_config(source_dir, store_short_side), data_dir)


def open_image_folder(
  source_dir: str | os.PathLike,
  data_dir: str | os.PathLike,
  store_short_side: int = 512,
) -> Sequence[dict[str, Any]]:
  """Random-access source of the prepared folder (preparing it if needed).

  Elements are dicts with ``image`` (encoded bytes), ``label`` and
  ``filename`` (both bytes).
  """
  builder = prepare_image_folder(source_dir, data_dir, store_short_side)
  return data_source(builder)


def prepare(config: ImageFolderConfig, data_dir) -> ImageFolderDataset:
  builder = _builder(config, data_dir)
  try:
    builder.download_and_prepare()
  except DataError as e:  # From _generate_examples, reworded by TFDS.
    raise DataError(
      f'{config.source_dir}: none of the {config.num_files} images could be decoded'
    ) from e
  except OSError:
    # Processes sharing data_dir race; the loser's final rename fails.
    builder = _builder(config, data_dir)
    if not builder.is_prepared():
      raise
  return builder


def _builder(config: ImageFolderConfig, data_dir) -> ImageFolderDataset:
  return ImageFolderDataset(config=config, data_dir=os.fspath(data_dir), file_format='array_record')


def data_source(builder: ImageFolderDataset) -> Sequence[dict[str, Any]]:
  return builder.as_data_source(split='train', decoders={'image': tfds.decode.SkipDecoding()})


def _encode_all(
  files: Sequence[str], store_short_side: int
) -> Iterator[tuple[str, bytes | ImageError]]:
  """Yields (path, stored bytes or the ImageError), in order, using threads."""

  def encode(path: str) -> bytes | ImageError:
    try:
      return encode_for_storage(path, store_short_side)
    except ImageError as e:
      return e

  with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
    for start in range(0, len(files), _PREPARE_CHUNK):
      chunk = files[start : start + _PREPARE_CHUNK]
      yield from zip(chunk, pool.map(encode, chunk), strict=True)


def _is_plain_rgb_jpeg(data: bytes) -> bool:
  with Image.open(io.BytesIO(data)) as image:
    return (
      image.format == 'JPEG'
      and image.mode == 'RGB'
      and image.getexif().get(0x0112, 1) == 1  # EXIF orientation: normal.
    )


def _log_preparation(source_dir, files, skipped, start) -> None:
  kept = len(files) - len(skipped)
  _LOG.info(
    'Prepared %d images of %s in %.1f s.',
    kept,
    source_dir,
    time.monotonic() - start,
  )
  if skipped:
    listed = ', '.join(skipped[:_MAX_LISTED_SKIPS])
    more = len(skipped) - _MAX_LISTED_SKIPS
    _LOG.warning(
      '%s: skipped %d of %d images that could not be decoded: %s%s',
      source_dir,
      len(skipped),
      len(files),
      listed,
      f', ... and {more} more' if more > 0 else '',
    )


def _reason(error: ImageError, path: str) -> str:
  return str(error).removeprefix(f'{path}: ')


def _slug(root: str) -> str:
  tail = '_'.join(Path(root).parts[-2:])
  return re.sub(r'[^a-z0-9]+', '_', tail.lower()).strip('_')[:48] or 'images'
