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

"""The training stream: prepared image folders -> Grain -> endless, resumable batches.

Each folder (content, style, or one per word) is read through its TFDS data source into
a Grain ``MapDataset``: global shuffle (a new permutation each epoch), decode + random crop
+ flip (seeded per global position), then every ``process_count``-th position for this
process, batch. So the global batch of a step holds the same images, identically augmented,
whatever the number of processes (only their order within the batch differs), the
processes of one step read disjoint images, and an epoch is read once over all of them.
The iterator state is a small JSON dict that counts global positions, so a checkpoint of a
run with one number of processes resumes with another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import dataclasses
import functools
import logging
import os
from typing import Any

from absl import flags as absl_flags
import grain
import jax
import numpy as np
from PIL import Image

from zmnet_jax.data import image_arrays, packed
from zmnet_jax.data.image_files import DataError, decode_image_bytes

_LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class _StreamSpec:
  stream_id: int  # Decorrelates the seeds of the content and style streams.
  folder: str
  crop_size: int
  resize_short_side: int
  view_size: int = 0  # > 0: also the whole image at this side (stream NAME_view)


class TrainInput:
  """Endless ``{'content', 'style'[, 'style_view']}`` float32 batches with resumable state.

  ``next()`` returns numpy arrays ``content [B, S, S, 3]`` and
  ``style [B, S2, S2, 3]`` in [0, 1], B being the per-process batch size; a stream with
  a whole-image view (``data.style_view_size``) adds ``style_view [B, V, V, 3]``: the
  same images as ``style``, whole, as inference encodes a style.
  Each stream is a function ``start -> iterator`` that reads this process' elements from
  local position ``start``; the iterators are made at the first ``next()``, so restoring
  a state first starts them (and their worker processes) once.
  """

  def __init__(
    self,
    streams: Mapping[str, Callable[[int], grain.DatasetIterator]],
    datasets: Mapping[str, str],
    local_batch_size: int,
    num_images: Mapping[str, int],
    process_count: int = 1,
  ):
    self._streams = dict(streams)
    self._positions = dict.fromkeys(self._streams, 0)  # local elements read, per stream
    self._iterators: dict[str, grain.DatasetIterator] = {}
    self._closed = False
    self.process_count = process_count
    self._datasets = dict(datasets)
    self.local_batch_size = local_batch_size
    self.num_images = dict(num_images)

  def __iter__(self) -> TrainInput:
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    if self._closed:
      raise ValueError('TrainInput is closed')
    if not self._iterators:
      self._iterators = {name: make(self._positions[name]) for name, make in self._streams.items()}
    batch = {}
    for name, it in self._iterators.items():
      arrays = next(it)
      if isinstance(arrays, tuple):  # (crop, whole view)
        batch[name], batch[f'{name}_view'] = map(_plain_array, arrays)
      else:
        batch[name] = _plain_array(arrays)
    for name in self._positions:
      self._positions[name] += self.local_batch_size
    return batch

  def get_state(self) -> dict[str, Any]:
    """JSON-serializable position of every stream in global elements (all processes'),
    the same with or without worker processes."""
    state = {
      name: {'global_next_index': position * self.process_count}
      for name, position in self._positions.items()
    }
    return {**state, 'datasets': dict(self._datasets)}

  def set_state(self, state: Mapping[str, Any]) -> None:
    """Continues exactly after the batch at which ``state`` was taken."""
    if state.get('datasets', self._datasets) != self._datasets:
      _LOG.warning(
        'Restoring input state saved for datasets %s into %s: the image '
        'folders changed, so the batch sequence will differ.',
        state.get('datasets'),
        self._datasets,
      )
    positions = {name: local_position(state[name], self.process_count) for name in self._streams}
    self._close_iterators()
    self._positions = positions

  def close(self) -> None:
    """Stops worker processes/threads; the input cannot be used afterwards."""
    self._close_iterators()
    self._closed = True

  def _close_iterators(self) -> None:
    for it in self._iterators.values():
      it.close()
    # Dropping the iterators now (not at interpreter exit) avoids Grain errors
    # from __del__ during shutdown.
    self._iterators = {}

  def __enter__(self) -> TrainInput:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


def local_position(saved: Mapping[str, Any], process_count: int) -> int:
  """This process' element position from a saved stream state.

  Reads the global position (any process count that divides it), and the states of
  earlier versions: a local ``next_index`` (same topology), or Grain's worker-process
  state, whose per-worker positions add up to the position (the batches after it were
  then ordered differently, so the sequence continues from the right place but not in
  the order that run would have taken).
  """
  if 'global_next_index' in saved:
    position = int(saved['global_next_index'])
    if position % process_count:
      raise DataError(
        f'cannot resume input position {position} with {process_count} processes '
        f'(not a multiple); use a process count that divides the global batch'
      )
    return position // process_count
  if set(saved) == {'next_index'}:
    return int(saved['next_index'])
  workers = saved.get('iterators_in_use_states')
  if isinstance(workers, list) and all('next_index' in w for w in workers):
    _LOG.warning(
      'input state saved with Grain worker processes by an earlier version: resuming '
      'at its position; the order of later batches differs from that run'
    )
    return sum(int(w['next_index']) for w in workers)
  raise DataError(f'unknown input state in the checkpoint: {sorted(saved)}')


def _plain_array(batch: np.ndarray) -> np.ndarray:
  """Copies worker output out of Grain's shared memory so it is released."""
  return batch if type(batch) is np.ndarray else np.array(batch)


def make_train_input(
  data_config,
  global_batch_size: int,
  seed: int,
  process_index: int | None = None,
  process_count: int | None = None,
) -> TrainInput:
  """Builds the training input of this process (preparing data if needed).

  Args:
    data_config: `config.data` (see configs/default.py); also 'style_dirs'
      (label -> folder: one 'style:<label>' stream each) and 'num_threads'.
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
  sources, datasets = _sources(specs, data_config)
  streams, num_images = {}, {}
  for name, spec in specs.items():
    source = sources[name]
    num_images[name] = len(source)
    streams[name] = _batched_stream(
      source,
      spec,
      batch_size=local_batch_size,
      seeds=_stream_seeds(seed, spec.stream_id),
      shard=(process_index, process_count),
      num_workers=int(_get(data_config, 'num_workers', 0)),
      num_threads=int(_get(data_config, 'num_threads', _default_threads())),
    )
  return TrainInput(streams, datasets, local_batch_size, num_images, process_count)


def _sources(specs: Mapping[str, _StreamSpec], data_config):
  """({name: random-access source}, {name: dataset id}) of every stream.

  Image folders are prepared as TFDS datasets (listed first, so a bad one fails before
  any work); packed `.npz` files are read as they are (no TFDS needed).
  """
  folders = {n: s for n, s in specs.items() if not packed.is_packed(s.folder)}
  configs = {}
  if folders:
    from zmnet_jax.data import folder_dataset  # TFDS

    data_dir = _required(data_config, 'data_dir')
    store_short_side = _store_short_side(data_config, specs)
    configs = {
      n: folder_dataset.image_folder_config(s.folder, store_short_side) for n, s in folders.items()
    }
  sources, datasets = {}, {}
  for name, spec in specs.items():
    if name in configs:
      builder = folder_dataset.prepare(configs[name], data_dir)
      sources[name], datasets[name] = folder_dataset.data_source(builder), configs[name].name
    else:
      sources[name] = packed.PackedImages(spec.folder)
      datasets[name] = f'packed_{os.path.basename(spec.folder)}_{len(sources[name])}'
  return sources, datasets


# A crop flatter than this (pixel std, 0-1 scale; 5/255) is drawn again: a uniform crop
# teaches nothing, and through TNet's instance norms (each scaling by 1/sqrt(eps) on a flat
# input) its gradient overflows float32 (a sky crop of a photo resized to 512 px did).
MIN_CROP_STD = 0.02
_CROP_TRIES = 4


def random_crop_flip(
  image: np.ndarray,
  rng: np.random.Generator,
  crop_size: int,
  short_side: int,
) -> np.ndarray:
  """Resize (short side) + random square crop + random flip, to float32 [0,1].

  Only the cropped region is resampled (antialiased bicubic). A crop flatter than
  `MIN_CROP_STD` is drawn again, up to 4 times, keeping the busiest (the first draw is the
  same as without this rule, so textured images crop as they always did).
  """
  height, width = image.shape[:2]
  new_height, new_width = image_arrays.scaled_shape(height, width, short_side)
  scale_y, scale_x = height / new_height, width / new_width
  best_box, best_std = None, -1.0
  for _ in range(_CROP_TRIES):
    top = int(rng.integers(0, new_height - crop_size + 1))
    left = int(rng.integers(0, new_width - crop_size + 1))
    box = (left * scale_x, top * scale_y, (left + crop_size) * scale_x, (top + crop_size) * scale_y)
    std = _region_std(image, box)
    if std > best_std:
      best_box, best_std = box, std
    if std >= MIN_CROP_STD:
      break
  crop = np.asarray(
    Image.fromarray(image).resize((crop_size, crop_size), Image.Resampling.BICUBIC, box=best_box)
  )
  if rng.random() < 0.5:
    crop = crop[:, ::-1]
  return image_arrays.to_float(crop)


def _region_std(image: np.ndarray, box: tuple[float, float, float, float]) -> float:
  """Pixel std (0-1 scale, mean over channels) of `image` under `box` (left, top, right, bottom)."""
  left, top, right, bottom = box
  region = image[
    int(top) : max(int(top) + 1, round(bottom)), int(left) : max(int(left) + 1, round(right))
  ]
  return float(region.reshape(-1, region.shape[-1]).std(axis=0).mean()) / 255.0


def _augment(
  element: Mapping[str, Any],
  rng: np.random.Generator,
  *,
  crop_size: int,
  short_side: int,
  view_size: int = 0,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
  name = element['filename']
  name = name.decode() if isinstance(name, bytes) else str(name)
  image = decode_image_bytes(element['image'], name)
  crop = random_crop_flip(image, rng, crop_size, short_side)
  if not view_size:
    return crop
  return crop, image_arrays.to_float(image_arrays.square(image, view_size))


def _batched_stream(
  source: Sequence[Any],
  spec: _StreamSpec,
  *,
  batch_size: int,
  seeds: tuple[int, int],
  shard: tuple[int, int],
  num_workers: int,
  num_threads: int,
) -> Callable[[int], grain.DatasetIterator]:
  """``start -> iterator`` over this process' batches from its element ``start`` on.

  Batches are formed on the random-access dataset, so batch k is the same whether it is
  read in this process or by worker ``k % num_workers`` (Grain's workers take every
  ``num_workers``-th element of what they prefetch and interleave them back in order).
  Threads read whole batches in parallel: ``num_threads`` in all, split over the workers.
  """
  process_index, process_count = shard
  shuffle_seed, augment_seed = seeds
  dataset = grain.MapDataset.source(source).shuffle(seed=shuffle_seed).repeat()
  dataset = dataset.random_map(
    functools.partial(
      _augment,
      crop_size=spec.crop_size,
      short_side=spec.resize_short_side,
      view_size=spec.view_size,
    ),
    seed=augment_seed,
  )
  dataset = dataset[process_index::process_count]  # after the per-position seeding
  threads = max(1, -(-num_threads // max(num_workers, 1)))
  read_options = grain.ReadOptions(num_threads=threads, prefetch_buffer_size=max(2, threads))

  def from_position(start: int) -> grain.DatasetIterator:
    batched = dataset[start:].batch(batch_size, drop_remainder=True).to_iter_dataset(read_options)
    if num_workers > 0:
      _ensure_absl_flags_parsed()
      batched = batched.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers))
    return iter(batched)

  return from_position


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
      resize_short_side=int(_get(data_config, 'resize_short_side', content_size)),
    ),
  }
  style_resize = int(_get(data_config, 'style_resize_short_side', style_size))
  style_dirs = dict(_get(data_config, 'style_dirs', {}))
  if not style_dirs:
    style_dirs = {'style': str(_required(data_config, 'style_dir'))}
  else:  # One stream per labelled folder, e.g. {'style:noon': ..., 'style:night': ...}.
    style_dirs = {f'style:{label}': str(folder) for label, folder in style_dirs.items()}
  view_size = int(_get(data_config, 'style_view_size', 0))
  for i, (name, folder) in enumerate(style_dirs.items()):
    specs[name] = _StreamSpec(
      stream_id=1 + i,
      folder=folder,
      crop_size=style_size,
      resize_short_side=style_resize,
      view_size=view_size if name == 'style' else 0,
    )
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


def _stream_seeds(seed: int, stream_id: int):
  """Independent (shuffle, augmentation) seeds per stream (the same in every process)."""
  sequence = np.random.SeedSequence([seed % 2**64, stream_id])
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
    raise DataError(f'--config.data.{name} is not set')
  return value
