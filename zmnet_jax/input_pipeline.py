"""Training and evaluation input: image folders -> TFDS (ArrayRecord) -> Grain.

An image folder is prepared once into ``data_dir`` by :class:`ImageFolderDataset`,
a TFDS ``GeneratorBasedBuilder`` writing ArrayRecord files (no TensorFlow
needed). Its config name encodes a hash of the folder's file list, so a changed
folder is prepared again and an unchanged one is reused. Training reads the
prepared data through ``as_data_source`` into a Grain ``MapDataset``: shard by
process, global shuffle, repeat, decode + random crop + flip (seeded per
element), batch. The iterator state is a small JSON-serializable dict.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hashlib
import io
import logging
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grain
from absl import flags as absl_flags
import jax
import ml_collections
import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from zmnet_jax.image_io import (
    ImageError,
    center_crop,
    decode_image_bytes,
    encode_jpeg,
    list_images,
    load_image,
    read_bytes,
    resize_short_side,
    scaled_shape,
)

_STORAGE_FORMAT_VERSION = 1  # Bump when the stored bytes change meaning.
_PREPARE_CHUNK = 256
_MAX_LISTED_SKIPS = 10
_LOG = logging.getLogger(__name__)


class DataError(ValueError):
  """The input data or its configuration cannot be used (one-line reason)."""


# ----------------------------------------------------------------------------
# TFDS builder.


@dataclasses.dataclass(eq=False)
class ImageFolderConfig(tfds.core.BuilderConfig):
  """An image folder to prepare; build it with :func:`image_folder_config`."""

  source_dir: str = ''
  store_short_side: int = 512
  num_files: int = 0


def image_folder_config(
    source_dir: str | os.PathLike, store_short_side: int
) -> ImageFolderConfig:
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


def folder_fingerprint(
    root: str, files: Sequence[str], store_short_side: int
) -> str:
  """Hash of the file list (relative paths, sizes, mtimes) and settings."""
  digest = hashlib.sha256(
      f'v{_STORAGE_FORMAT_VERSION};s{store_short_side}\n'.encode()
  )
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


class ImageFolderDataset(
    tfds.core.GeneratorBasedBuilder, skip_registration=True
):
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
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(
                shape=(None, None, 3), encoding_format='jpeg'
            ),
            'label': tfds.features.Text(),
            'filename': tfds.features.Text(),
        }),
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
        len(files), config.source_dir, config.store_short_side,
    )
    for path, result in _encode_all(files, config.store_short_side):
      relative = Path(os.path.relpath(path, config.source_dir))
      if isinstance(result, ImageError):
        skipped.append(f'{relative.as_posix()} ({_reason(result, path)})')
        continue
      label = relative.parent.as_posix()
      yield relative.as_posix(), {
          'image': result,
          'label': '' if label == '.' else label,
          'filename': relative.as_posix(),
      }
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
    image = resize_short_side(image, store_short_side)
  return encode_jpeg(image)


def prepare_image_folder(
    source_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    store_short_side: int = 512,
) -> ImageFolderDataset:
  """Prepares ``source_dir`` into ``data_dir`` unless already prepared."""
  return _prepare(image_folder_config(source_dir, store_short_side), data_dir)


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
  return _data_source(builder)


def _prepare(config: ImageFolderConfig, data_dir) -> ImageFolderDataset:
  builder = _builder(config, data_dir)
  try:
    builder.download_and_prepare()
  except DataError as e:  # From _generate_examples, reworded by TFDS.
    raise DataError(
        f'{config.source_dir}: none of the {config.num_files} images could '
        'be decoded'
    ) from e
  except OSError:
    # Processes sharing data_dir race; the loser's final rename fails.
    builder = _builder(config, data_dir)
    if not builder.is_prepared():
      raise
  return builder


def _builder(config: ImageFolderConfig, data_dir) -> ImageFolderDataset:
  return ImageFolderDataset(
      config=config, data_dir=os.fspath(data_dir), file_format='array_record'
  )


def _data_source(builder: ImageFolderDataset) -> Sequence[dict[str, Any]]:
  return builder.as_data_source(
      split='train', decoders={'image': tfds.decode.SkipDecoding()}
  )


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
      yield from zip(chunk, pool.map(encode, chunk))


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
      kept, source_dir, time.monotonic() - start,
  )
  if skipped:
    listed = ', '.join(skipped[:_MAX_LISTED_SKIPS])
    more = len(skipped) - _MAX_LISTED_SKIPS
    _LOG.warning(
        '%s: skipped %d of %d images that could not be decoded: %s%s',
        source_dir, len(skipped), len(files), listed,
        f', ... and {more} more' if more > 0 else '',
    )


def _reason(error: ImageError, path: str) -> str:
  return str(error).removeprefix(f'{path}: ')


def _slug(root: str) -> str:
  tail = '_'.join(Path(root).parts[-2:])
  return re.sub(r'[^a-z0-9]+', '_', tail.lower()).strip('_')[:48] or 'images'


# ----------------------------------------------------------------------------
# Training input.


def default_data_config() -> ml_collections.ConfigDict:
  """Data settings with their defaults (folders must be filled in)."""
  placeholder = ml_collections.config_dict.placeholder
  return ml_collections.ConfigDict({
      'content_dir': '',
      'style_dir': '',
      'style_dirs': {},  # label -> folder: one style stream each ('style:<label>').
      'data_dir': '',
      'content_size': 256,
      'style_size': 256,
      'resize_short_side': placeholder(int),  # None: content_size.
      'style_resize_short_side': placeholder(int),  # None: style_size.
      'store_short_side': 512,
      'num_workers': 0,  # Grain worker processes; 0: in-process threads.
      'num_threads': placeholder(int),  # Decoding threads; None: CPU count.
      'shuffle_buffer': 0,  # Unused: Grain shuffles globally by index.
  })


@dataclasses.dataclass(frozen=True)
class _StreamSpec:
  stream_id: int  # Decorrelates the seeds of the content and style streams.
  folder: str
  crop_size: int
  resize_short_side: int


class TrainInput:
  """Endless ``{'content', 'style'}`` float32 batches with resumable state.

  ``next()`` returns numpy arrays ``content [B, S, S, 3]`` and
  ``style [B, S2, S2, 3]`` in [0, 1], B being the per-process batch size.
  """

  def __init__(
      self,
      iterators: Mapping[str, grain.DatasetIterator],
      datasets: Mapping[str, str],
      local_batch_size: int,
      num_images: Mapping[str, int],
  ):
    self._iterators = dict(iterators)
    self._datasets = dict(datasets)
    self.local_batch_size = local_batch_size
    self.num_images = dict(num_images)

  def __iter__(self) -> TrainInput:
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    if not self._iterators:
      raise ValueError('TrainInput is closed')
    return {
        name: _plain_array(next(it)) for name, it in self._iterators.items()
    }

  def get_state(self) -> dict[str, Any]:
    """JSON-serializable position of both streams."""
    state = {name: it.get_state() for name, it in self._iterators.items()}
    return {**state, 'datasets': dict(self._datasets)}

  def set_state(self, state: Mapping[str, Any]) -> None:
    """Continues exactly after the batch at which ``state`` was taken."""
    if state.get('datasets', self._datasets) != self._datasets:
      _LOG.warning(
          'Restoring input state saved for datasets %s into %s: the image '
          'folders changed, so the batch sequence will differ.',
          state.get('datasets'), self._datasets,
      )
    for name, it in self._iterators.items():
      it.set_state(state[name])

  def close(self) -> None:
    """Stops worker processes/threads; the input cannot be used afterwards."""
    for it in self._iterators.values():
      it.close()
    # Dropping the iterators now (not at interpreter exit) avoids Grain errors
    # from __del__ during shutdown.
    self._iterators = {}

  def __enter__(self) -> TrainInput:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


def _plain_array(batch: np.ndarray) -> np.ndarray:
  """Copies worker output out of Grain's shared memory so it is released."""
  return batch if type(batch) is np.ndarray else np.array(batch)


def make_train_input(
    data_config: ml_collections.ConfigDict,
    global_batch_size: int,
    seed: int,
    process_index: int | None = None,
    process_count: int | None = None,
) -> TrainInput:
  """Builds the training input of this process (preparing data if needed).

  Args:
    data_config: see :func:`default_data_config`.
    global_batch_size: batch size summed over all processes.
    seed: same seed, same batches; random ops are seeded per element.
    process_index: this process' shard (default ``jax.process_index()``).
    process_count: number of shards (default ``jax.process_count()``).

  Raises:
    ImageError: a folder is missing or holds no images (before any work).
    DataError: inconsistent settings, or too few usable images.
  """
  if process_index is None:
    process_index = jax.process_index()
  if process_count is None:
    process_count = jax.process_count()
  local_batch_size = _local_batch_size(global_batch_size, process_count)
  specs = _stream_specs(data_config)
  data_dir = _required(data_config, 'data_dir')
  store_short_side = _store_short_side(data_config, specs)
  # List every folder before preparing any, so a bad one fails at once.
  configs = {
      name: image_folder_config(spec.folder, store_short_side)
      for name, spec in specs.items()
  }
  iterators, num_images = {}, {}
  for name, spec in specs.items():
    source = _data_source(_prepare(configs[name], data_dir))
    num_images[name] = len(source)
    iterators[name] = _batched_stream(
        source,
        spec,
        batch_size=local_batch_size,
        seeds=_stream_seeds(seed, spec.stream_id, process_index),
        shard=(process_index, process_count),
        num_workers=int(_get(data_config, 'num_workers', 0)),
        num_threads=int(_get(data_config, 'num_threads', _default_threads())),
    )
  datasets = {name: config.name for name, config in configs.items()}
  return TrainInput(iterators, datasets, local_batch_size, num_images)


def random_crop_flip(
    image: np.ndarray,
    rng: np.random.Generator,
    crop_size: int,
    short_side: int,
) -> np.ndarray:
  """Resize (short side) + random square crop + random flip, to float32 [0,1].

  Only the cropped region is resampled (antialiased bicubic).
  """
  height, width = image.shape[:2]
  new_height, new_width = scaled_shape(height, width, short_side)
  top = int(rng.integers(0, new_height - crop_size + 1))
  left = int(rng.integers(0, new_width - crop_size + 1))
  scale_y, scale_x = height / new_height, width / new_width
  box = (
      left * scale_x,
      top * scale_y,
      (left + crop_size) * scale_x,
      (top + crop_size) * scale_y,
  )
  crop = np.asarray(
      Image.fromarray(image).resize(
          (crop_size, crop_size), Image.Resampling.BICUBIC, box=box
      )
  )
  if rng.random() < 0.5:
    crop = crop[:, ::-1]
  return crop.astype(np.float32) / 255.0


def _augment(
    element: Mapping[str, Any],
    rng: np.random.Generator,
    *,
    crop_size: int,
    short_side: int,
) -> np.ndarray:
  name = element['filename']
  name = name.decode() if isinstance(name, bytes) else str(name)
  image = decode_image_bytes(element['image'], name)
  return random_crop_flip(image, rng, crop_size, short_side)


def _batched_stream(
    source: Sequence[Any],
    spec: _StreamSpec,
    *,
    batch_size: int,
    seeds: tuple[int, int],
    shard: tuple[int, int],
    num_workers: int,
    num_threads: int,
) -> grain.DatasetIterator:
  process_index, process_count = shard
  if len(source) < process_count:
    raise DataError(
        f'{spec.folder}: {len(source)} usable images, fewer than the '
        f'{process_count} processes that each need a shard'
    )
  shuffle_seed, augment_seed = seeds
  dataset = grain.MapDataset.source(source)[process_index::process_count]
  dataset = dataset.shuffle(seed=shuffle_seed).repeat()
  dataset = dataset.random_map(
      functools.partial(
          _augment,
          crop_size=spec.crop_size,
          short_side=spec.resize_short_side,
      ),
      seed=augment_seed,
  )
  read_options = grain.ReadOptions(
      num_threads=num_threads, prefetch_buffer_size=2 * batch_size
  )
  batched = dataset.to_iter_dataset(read_options).batch(
      batch_size, drop_remainder=True
  )
  if num_workers > 0:
    _ensure_absl_flags_parsed()
    batched = batched.mp_prefetch(
        grain.MultiprocessingOptions(num_workers=num_workers)
    )
  return iter(batched)


def _ensure_absl_flags_parsed() -> None:
  """Grain's mp_prefetch reads absl flags; outside absl.app they are unparsed.

  Without this, grain 0.2.18 fails with UnparsedFlagAccessError
  (--grain_enable_multiprocess_worker_profiling) once jax is imported.
  Marking them parsed keeps every flag at its default.
  """
  if not absl_flags.FLAGS.is_parsed():
    absl_flags.FLAGS.mark_as_parsed()


def _stream_specs(data_config) -> dict[str, _StreamSpec]:
  content_size = int(_required(data_config, 'content_size'))
  style_size = int(_required(data_config, 'style_size'))
  specs = {
      'content': _StreamSpec(
          stream_id=0,
          folder=str(_required(data_config, 'content_dir')),
          crop_size=content_size,
          resize_short_side=int(
              _get(data_config, 'resize_short_side', content_size)
          ),
      ),
  }
  style_resize = int(_get(data_config, 'style_resize_short_side', style_size))
  style_dirs = dict(_get(data_config, 'style_dirs', {}))
  if not style_dirs:
    style_dirs = {'style': str(_required(data_config, 'style_dir'))}
  else:  # One stream per labelled folder, e.g. {'style:noon': ..., 'style:night': ...}.
    style_dirs = {f'style:{label}': str(folder) for label, folder in style_dirs.items()}
  for i, (name, folder) in enumerate(style_dirs.items()):
    specs[name] = _StreamSpec(
        stream_id=1 + i, folder=folder, crop_size=style_size,
        resize_short_side=style_resize)
  for name, spec in specs.items():
    if spec.resize_short_side < spec.crop_size:
      raise DataError(
          f'{name}: resize short side {spec.resize_short_side} is smaller '
          f'than the crop size {spec.crop_size}'
      )
  return specs


def _store_short_side(data_config, specs: Mapping[str, _StreamSpec]) -> int:
  store_short_side = int(_get(data_config, 'store_short_side', 512))
  largest = max(spec.resize_short_side for spec in specs.values())
  if store_short_side < largest:
    raise DataError(
        f'store_short_side {store_short_side} is smaller than the resize '
        f'short side {largest}: stored images would be upscaled'
    )
  return store_short_side


def _stream_seeds(seed: int, stream_id: int, process_index: int):
  """Independent (shuffle, augmentation) seeds per stream and process."""
  sequence = np.random.SeedSequence([seed % 2**64, stream_id, process_index])
  shuffle_seed, augment_seed = sequence.generate_state(2)
  return int(shuffle_seed), int(augment_seed)


def _local_batch_size(global_batch_size: int, process_count: int) -> int:
  if global_batch_size <= 0 or global_batch_size % process_count:
    raise DataError(
        f'global batch size {global_batch_size} must be a positive multiple '
        f'of the process count {process_count}'
    )
  return global_batch_size // process_count


def _default_threads() -> int:
  return min(16, os.cpu_count() or 1)


def _get(config, name: str, default):
  value = config.get(name, None)
  return default if value is None else value


def _required(config, name: str):
  value = config.get(name, None)
  if value is None or value == '':
    raise DataError(f"data config: '{name}' is not set")
  return value


# ----------------------------------------------------------------------------
# Evaluation input.


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
  names, images = [], []
  for path in paths:
    if limit is not None and len(images) >= limit:
      break
    try:
      image = load_image(path)
    except ImageError as e:
      _LOG.warning('Skipping evaluation image: %s', e)
      continue
    images.append(center_crop(resize_short_side(image, size), size))
    names.append(Path(os.path.relpath(path, folder)).as_posix())
  if not images:
    raise DataError(f'{folder}: none of the {len(paths)} images could be decoded')
  return names, np.stack(images).astype(np.float32) / 255.0
