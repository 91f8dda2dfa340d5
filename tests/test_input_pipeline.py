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

"""Tests for zmnet_jax.data: prepared folders, the training stream, embedded images."""

import importlib
import json
import logging
import os
import pathlib
import pkgutil
import shutil
import time

import ml_collections
import numpy as np
from PIL import Image
import pytest

from zmnet_jax import configs as configs_pkg
from zmnet_jax.configs import default
from zmnet_jax.data import (
  embedded as embedded_data,
  eval_sets,
  folder_dataset,
  image_files,
  train_input as train_input_lib,
)
from zmnet_jax.data.image_files import DataError, ImageError
from zmnet_jax.training import config_checks

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data'


def _write_noise_images(folder, count, seed=0, subfolders=('',)):
  """Random-noise images of varied sizes, spread over ``subfolders``."""
  rng = np.random.default_rng(seed)
  paths = []
  for i in range(count):
    height, width = rng.integers(40, 90, size=2)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    path = folder / subfolders[i % len(subfolders)] / f'img{i:02d}.png'
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    paths.append(path)
  return paths


def _write_solid_images(folder, count):
  """Uniform images whose red channel encodes their index (20 * i + 10)."""
  folder.mkdir(parents=True, exist_ok=True)
  for i in range(count):
    Image.new('RGB', (48, 40), (20 * i + 10, 90, 160)).save(folder / f'solid{i:02d}.png')


def _image_ids(batch):
  return {int(round((red * 255 - 10) / 20)) for red in batch[:, :, :, 0].mean((1, 2))}


@pytest.fixture(name='folders')
def _folders(tmp_path):
  content, style = tmp_path / 'content', tmp_path / 'style'
  _write_noise_images(content, 10, seed=1, subfolders=('', 'people'))
  _write_noise_images(style, 7, seed=2, subfolders=('cubism', 'dtd/bumpy'))
  return content, style


def _data_config(tmp_path, content, style, **overrides):
  config = default.get_config().data
  config.content_dir = str(content)
  config.style_dir = str(style)
  config.data_dir = str(tmp_path / 'tfds')
  config.content_size = 32
  config.style_size = 24
  config.resize_short_side = 40
  config.style_resize_short_side = 24  # the style crop size: no resizing beyond it
  config.store_short_side = 48
  config.num_threads = 2
  config.update(overrides)
  return config


def _train_input(tmp_path, folders, seed=0, **kwargs):
  config = _data_config(tmp_path, *folders)
  return train_input_lib.make_train_input(
    config,
    global_batch_size=4,
    seed=seed,
    process_index=0,
    process_count=1,
    **kwargs,
  )


def _take(train_input, count):
  return [next(train_input) for _ in range(count)]


def _assert_same_batches(first, second):
  assert len(first) == len(second)
  for a, b in zip(first, second, strict=True):
    np.testing.assert_array_equal(a['content'], b['content'])
    np.testing.assert_array_equal(a['style'], b['style'])


# --- TFDS builder ------------------------------------------------------------


def test_builder_prepares_once_and_reuses(tmp_path, monkeypatch):
  folder = tmp_path / 'images'
  _write_noise_images(folder, 5, subfolders=('', 'a', 'a/b'))
  builder = folder_dataset.prepare_image_folder(folder, tmp_path / 'tfds', 48)
  assert builder.info.splits['train'].num_examples == 5
  data_files = sorted(pathlib.Path(builder.data_dir).iterdir())
  mtimes = [p.stat().st_mtime_ns for p in data_files]

  def fail(*args):
    raise AssertionError('the folder was prepared again')

  monkeypatch.setattr(folder_dataset, 'encode_for_storage', fail)
  again = folder_dataset.prepare_image_folder(folder, tmp_path / 'tfds', 48)
  assert again.data_dir == builder.data_dir
  assert [p.stat().st_mtime_ns for p in data_files] == mtimes


def test_builder_features_labels_and_store_size(tmp_path):
  folder = tmp_path / 'images'
  _write_noise_images(folder, 5, subfolders=('', 'a', 'a/b'))
  Image.new('RGB', (120, 100), (1, 2, 3)).save(folder / 'a' / 'big.png')
  source = folder_dataset.open_image_folder(folder, tmp_path / 'tfds', 96)
  examples = {ex['filename'].decode(): ex for ex in source}
  assert sorted(examples) == sorted(
    ['img00.png', 'img03.png', 'a/img01.png', 'a/img04.png', 'a/b/img02.png', 'a/big.png']
  )
  labels = {name: ex['label'].decode() for name, ex in examples.items()}
  assert labels['img00.png'] == ''
  assert labels['a/img01.png'] == 'a'
  assert labels['a/b/img02.png'] == 'a/b'
  big = image_files.decode_image_bytes(examples['a/big.png']['image'])
  assert big.shape == (96, 115, 3)  # Short side limited to 96.
  original = image_files.load_image(folder / 'img00.png')
  assert max(original.shape[:2]) < 96  # Smaller images keep their size.
  stored = image_files.decode_image_bytes(examples['img00.png']['image'])
  assert stored.shape == original.shape


def test_small_rgb_jpeg_is_stored_unchanged(tmp_path):
  folder = tmp_path / 'images'
  folder.mkdir()
  Image.new('RGB', (40, 30), (9, 99, 199)).save(folder / 'x.jpg')
  source = folder_dataset.open_image_folder(folder, tmp_path / 'tfds', 48)
  assert source[0]['image'] == (folder / 'x.jpg').read_bytes()


def test_builder_skips_undecodable_images_and_logs_them(tmp_path, caplog):
  folder = tmp_path / 'images'
  _write_noise_images(folder, 3)
  good = (folder / 'img00.png').read_bytes()
  (folder / 'cut.png').write_bytes(good[: len(good) // 2])
  (folder / 'text.jpg').write_text('hello')
  with caplog.at_level(logging.INFO, logger='zmnet_jax.data.folder_dataset'):
    builder = folder_dataset.prepare_image_folder(folder, tmp_path / 'tfds', 48)
  assert builder.info.splits['train'].num_examples == 3
  message = '\n'.join(r.getMessage() for r in caplog.records)
  assert 'skipped 2 of 5 images that could not be decoded' in message
  assert 'cut.png (truncated or corrupt image' in message
  assert 'text.jpg (not a recognized image file)' in message


def test_changed_folder_is_prepared_again(tmp_path):
  folder = tmp_path / 'images'
  _write_noise_images(folder, 3)
  first = folder_dataset.prepare_image_folder(folder, tmp_path / 'tfds', 48)
  Image.new('RGB', (50, 50), (5, 5, 5)).save(folder / 'new.png')
  second = folder_dataset.prepare_image_folder(folder, tmp_path / 'tfds', 48)
  assert second.data_dir != first.data_dir
  assert second.info.splits['train'].num_examples == 4
  other_size = folder_dataset.prepare_image_folder(folder, tmp_path / 'tfds', 64)
  assert other_size.data_dir != second.data_dir


def test_folder_without_decodable_images_is_an_error(tmp_path):
  folder = tmp_path / 'broken'
  folder.mkdir()
  (folder / 'a.jpg').write_text('nope')
  with pytest.raises(DataError, match=r'broken: none of the 1 images could be decoded'):
    folder_dataset.prepare_image_folder(folder, tmp_path / 'tfds', 48)


# --- training input ----------------------------------------------------------


def test_train_batches_shapes_and_range(tmp_path, folders):
  with _train_input(tmp_path, folders) as train_input:
    batch = next(train_input)
    assert train_input.num_images == {'content': 10, 'style': 7}
  assert set(batch) == {'content', 'style'}
  assert batch['content'].shape == (4, 32, 32, 3)
  assert batch['style'].shape == (4, 24, 24, 3)
  for images in batch.values():
    assert images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert images.std() > 0.05


def test_style_view_is_the_whole_style_of_each_crop(tmp_path, folders):
  solid = tmp_path / 'solid'
  _write_solid_images(solid, 6)
  config = _data_config(tmp_path, folders[0], solid, style_view_size=16)
  with train_input_lib.make_train_input(config, 4, 0, 0, 1) as train_input:
    batches = _take(train_input, 2)
  for batch in batches:
    assert set(batch) == {'content', 'style', 'style_view'}
    assert batch['style_view'].shape == (4, 16, 16, 3)
    # Row by row the same image: solid images whose red channel is their index.
    crop_ids = [_image_ids(batch['style'][i : i + 1]) for i in range(4)]
    view_ids = [_image_ids(batch['style_view'][i : i + 1]) for i in range(4)]
    assert crop_ids == view_ids
  assert len(set().union(*[_image_ids(batches[0]['style'][i : i + 1]) for i in range(4)])) == 4


def test_flat_crops_are_drawn_again_and_textured_ones_as_before():
  noise = np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)
  half_flat = noise.copy()
  half_flat[:, :48] = 128
  flat_share = {}
  for name, image in {'half_flat': half_flat, 'noise': noise}.items():
    flat = 0
    for seed in range(60):
      crop = train_input_lib.random_crop_flip(image, np.random.default_rng(seed), 32, 96)
      flat += crop.std(axis=(0, 1)).mean() < train_input_lib.MIN_CROP_STD
      if name == 'noise':  # one draw, as before the rule: top, left, flip
        rng = np.random.default_rng(seed)
        top, left = int(rng.integers(0, 65)), int(rng.integers(0, 65))
        expected = image[top : top + 32, left : left + 32]
        expected = expected[:, ::-1] if rng.random() < 0.5 else expected
        np.testing.assert_allclose(crop, expected / 255.0, atol=1e-6)
    flat_share[name] = flat / 60
  # One draw is flat 17 times in 65 (left <= 16), four in a row about once in 200.
  assert flat_share == {'half_flat': 0.0, 'noise': 0.0}
  solid = np.full((64, 64, 3), 7, np.uint8)
  crop = train_input_lib.random_crop_flip(solid, np.random.default_rng(0), 32, 64)
  np.testing.assert_allclose(crop, 7 / 255.0, atol=1e-6)


CONFIGS = sorted(
  m.name for m in pkgutil.iter_modules(configs_pkg.__path__) if m.name not in {'shared_data'}
)


@pytest.mark.parametrize('name', configs_pkg.NAMES)
def test_every_config_takes_the_one_variant_syntax(name):
  """NAME:tiny is the recipe at CPU size for every config; another variant is an error."""
  config = configs_pkg.load(f'{name}:tiny')
  assert config.data.content_size == 64 and config.train.batch_size == 4
  with pytest.raises(ValueError, match="unknown config variant 'big'"):
    configs_pkg.load(f'{name}:big')


@pytest.mark.parametrize('name', CONFIGS)
def test_every_config_passes_the_input_checks(name):
  """A recipe whose store side is under its resize side fails at its first step on the
  machine it was written for (release_gpu stored 144 px styles the recipe enlarges to 512)."""
  config = importlib.import_module(f'zmnet_jax.configs.{name}').get_config()
  config_checks.check(config)
  data = ml_collections.ConfigDict(config.data.to_dict())
  data.content_dir = data.get('content_dir') or 'contents'  # folders some configs find later
  data.style_dir = data.get('style_dir') or 'styles'
  specs = train_input_lib._stream_specs(data)
  assert train_input_lib._store_short_side(data, specs) >= data.style_resize_short_side


def test_same_seed_same_batches_other_seed_differs(tmp_path, folders):
  with _train_input(tmp_path, folders, seed=7) as train_input:
    first = _take(train_input, 4)  # More than one epoch of style images.
  with _train_input(tmp_path, folders, seed=7) as train_input:
    second = _take(train_input, 4)
  with _train_input(tmp_path, folders, seed=8) as train_input:
    other = _take(train_input, 4)
  _assert_same_batches(first, second)
  for name in ('content', 'style'):
    assert not np.array_equal(first[0][name], other[0][name])
  # Content and style streams are decorrelated, batches within a stream too.
  assert not np.array_equal(first[0]['content'], first[1]['content'])


def test_state_restore_continues_exactly(tmp_path, folders):
  with _train_input(tmp_path, folders, seed=3) as train_input:
    uninterrupted = _take(train_input, 6)
  with _train_input(tmp_path, folders, seed=3) as train_input:
    _take(train_input, 2)
    state = json.loads(json.dumps(train_input.get_state()))
  with _train_input(tmp_path, folders, seed=3) as resumed:
    resumed.set_state(state)
    _assert_same_batches(_take(resumed, 4), uninterrupted[2:])


def test_processes_read_disjoint_shards(tmp_path):
  folder = tmp_path / 'solid'
  _write_solid_images(folder, 8)
  config = _data_config(tmp_path, folder, folder)
  seen = []
  for process_index in (0, 1):
    with train_input_lib.make_train_input(
      config,
      global_batch_size=8,
      seed=0,
      process_index=process_index,
      process_count=2,
    ) as train_input:
      batch = next(train_input)  # One epoch of this process' 4 images.
    assert batch['content'].shape[0] == 4
    seen.append(_image_ids(batch['content']))
  assert len(seen[0]) == len(seen[1]) == 4
  assert seen[0].isdisjoint(seen[1])
  assert seen[0] | seen[1] == set(range(8))


def _inputs(config, processes, batch=8, seed=0):
  return [
    train_input_lib.make_train_input(config, batch, seed, process_index=p, process_count=processes)
    for p in range(processes)
  ]


def _global_batches(inputs, steps):
  """Per step: the rows of all processes' local batches, sorted (order within a batch is
  the one thing a topology may change)."""
  out = []
  for _ in range(steps):
    rows = np.concatenate([next(i)['content'] for i in inputs])
    out.append(rows[np.lexsort(rows.reshape(len(rows), -1).T)])
  return out


def test_the_global_batch_does_not_depend_on_the_process_count(tmp_path, folders):
  config = _data_config(tmp_path, *folders)
  one, two, four = _inputs(config, 1), _inputs(config, 2), _inputs(config, 4)
  expected = _global_batches(one, 3)
  for inputs in (two, four):
    for a, b in zip(expected, _global_batches(inputs, 3), strict=True):
      np.testing.assert_array_equal(a, b)
  # A 2-process checkpoint resumes in 1 process and a 1-process one in 4, in order.
  state_two = json.loads(json.dumps(two[0].get_state()))
  state_one = json.loads(json.dumps(one[0].get_state()))
  assert state_two['content'] == state_one['content'] == {'global_next_index': 24}
  later = _global_batches(one, 2)
  resumed_one = _inputs(config, 1)
  resumed_one[0].set_state(state_two)
  resumed_four = _inputs(config, 4)
  for i in resumed_four:
    i.set_state(state_one)
  for inputs in (resumed_one, resumed_four):
    for a, b in zip(later, _global_batches(inputs, 2), strict=True):
      np.testing.assert_array_equal(a, b)
  three = train_input_lib.make_train_input(config, 9, 0, process_index=0, process_count=3)
  with pytest.raises(DataError, match='not a multiple'):
    three.set_state({**state_two, 'content': {'global_next_index': 10}})
  for i in one + two + four + resumed_one + resumed_four + [three]:
    i.close()


def test_missing_folder_fails_before_any_preparation(tmp_path, folders):
  content, _ = folders
  config = _data_config(tmp_path, content, tmp_path / 'no_styles')
  start = time.monotonic()
  with pytest.raises(ImageError, match='no_styles: folder not found'):
    train_input_lib.make_train_input(config, 4, 0, 0, 1)
  assert time.monotonic() - start < 2
  assert not os.path.exists(config.data_dir)


def test_empty_folder_is_an_error(tmp_path, folders):
  _, style = folders
  empty = tmp_path / 'empty'
  empty.mkdir()
  config = _data_config(tmp_path, empty, style)
  with pytest.raises(ImageError, match='empty: no image files'):
    train_input_lib.make_train_input(config, 4, 0, 0, 1)


@pytest.mark.parametrize(
  'overrides, batch, message',
  [
    ({}, 3, 'global batch size 3 must be a positive multiple'),
    ({'resize_short_side': 16}, 4, 'smaller than the crop size'),
    ({'store_short_side': 32}, 4, 'stored images would be upscaled'),
    ({'data_dir': ''}, 4, '--config.data.data_dir is not set'),
  ],
)
def test_inconsistent_settings_are_errors(tmp_path, folders, overrides, batch, message):
  config = _data_config(tmp_path, *folders, **overrides)
  with pytest.raises(DataError, match=message):
    train_input_lib.make_train_input(config, batch, 0, 0, 2)


@pytest.mark.slow
def test_worker_processes_give_the_same_batches_and_resume_anywhere(tmp_path, folders):
  with _train_input(tmp_path, folders, seed=5) as train_input:
    in_process = _take(train_input, 4)
  config = _data_config(tmp_path, *folders, num_workers=2)
  with train_input_lib.make_train_input(config, 4, 5, 0, 1) as train_input:
    with_workers = _take(train_input, 2)
    state = json.loads(json.dumps(train_input.get_state()))
  assert state['content'] == {'global_next_index': 8}
  with train_input_lib.make_train_input(config, 4, 5, 0, 1) as resumed:
    resumed.set_state(state)
    with_workers += _take(resumed, 2)
  _assert_same_batches(with_workers, in_process)
  # The workers' state resumes in 2 processes without workers: the same global batches.
  halves = _inputs(_data_config(tmp_path, *folders), 2, batch=4, seed=5)
  for half in halves:
    half.set_state(state)
  for step in (2, 3):
    rows = np.concatenate([next(half)['content'] for half in halves])
    expected = in_process[step]['content']
    assert {r.tobytes() for r in rows} == {r.tobytes() for r in expected}
  for half in halves:
    half.close()


@pytest.mark.parametrize(
  'saved, processes, position',
  [
    ({'global_next_index': 24}, 2, 12),
    ({'next_index': 6}, 1, 6),  # before positions were global
    ({'iterators_in_use_states': [{'next_index': 3}, {'next_index': 2}]}, 1, 5),  # workers
  ],
)
def test_saved_input_states_of_every_version_resume(saved, processes, position):
  assert train_input_lib.local_position(saved, processes) == position


def test_an_unknown_input_state_is_an_error():
  with pytest.raises(DataError, match='unknown input state'):
    train_input_lib.local_position({'something': 1}, 1)


# --- evaluation input --------------------------------------------------------


def test_load_eval_images(tmp_path, caplog):
  folder = tmp_path / 'eval'
  _write_noise_images(folder, 4, subfolders=('', 'sub'))
  (folder / 'broken.jpg').write_bytes(b'\xff\xd8\xff')
  with caplog.at_level(logging.WARNING):
    names, images = eval_sets.load_eval_images(folder, 32)
  assert names == ['img00.png', 'img02.png', 'sub/img01.png', 'sub/img03.png']
  assert images.shape == (4, 32, 32, 3) and images.dtype == np.float32
  assert 0.0 <= images.min() and images.max() <= 1.0
  assert 'broken.jpg' in caplog.text
  names_again, images_again = eval_sets.load_eval_images(folder, 32, 2)
  assert names_again == names[:2]
  np.testing.assert_array_equal(images_again, images[:2])


def test_load_eval_images_center_crops(tmp_path):
  folder = tmp_path / 'eval'
  folder.mkdir()
  pixels = np.zeros((20, 60, 3), np.uint8)
  pixels[:, 20:40] = 255  # Only the central third is white.
  Image.fromarray(pixels).save(folder / 'wide.png')
  _, images = eval_sets.load_eval_images(folder, 20)
  assert images.shape == (1, 20, 20, 3)
  assert images[0, :, 2:-2].min() > 0.95


# --- embedded data -----------------------------------------------------------


@pytest.fixture(name='embedded_root', scope='module')
def _embedded_root(tmp_path_factory):
  root = tmp_path_factory.mktemp('embedded')
  embedded_data.materialize_embedded_data(root)
  return root


def test_embedded_data_folders(embedded_root):
  folders = embedded_data.materialize_embedded_data(embedded_root)
  assert set(folders) == {'content_train', 'style_train', 'content_val', 'style_val'}
  names = {}
  for key, folder in folders.items():
    paths = image_files.list_images(folder)
    assert paths, key
    names[key] = {os.path.basename(p) for p in paths}
    image = image_files.load_image(paths[0])
    assert image.ndim == 3 and min(image.shape[:2]) >= 256
  assert len(names['content_train']) >= 5 and len(names['style_train']) >= 5
  assert names['content_train'].isdisjoint(names['content_val'])
  assert names['style_train'].isdisjoint(names['style_val'])


def test_embedded_data_is_not_rewritten(embedded_root):
  files = sorted(embedded_root.rglob('*'))
  mtimes = [p.stat().st_mtime_ns for p in files]
  embedded_data.materialize_embedded_data(embedded_root)
  assert sorted(embedded_root.rglob('*')) == files
  assert [p.stat().st_mtime_ns for p in files] == mtimes


def test_embedded_data_completes_a_partial_folder(embedded_root, tmp_path):
  root = tmp_path / 'copy'
  shutil.copytree(embedded_root, root)
  removed = root / 'style_val' / 'gravel.png'
  removed.unlink()
  embedded_data.materialize_embedded_data(root)
  np.testing.assert_array_equal(
    image_files.load_image(removed),
    image_files.load_image(embedded_root / 'style_val' / 'gravel.png'),
  )


# --- real data -----------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.skipif(
  not (SHARED_DATA / 'content' / 'val').is_dir(),
  reason='needs the shared image data at ../shared/data (outside the repo)',
)
def test_shared_content_val_prepares_and_batches(tmp_path):
  folder = SHARED_DATA / 'content' / 'val'
  config = _data_config(tmp_path, folder, folder, store_short_side=64)
  with train_input_lib.make_train_input(config, 8, 0, 0, 1) as train_input:
    batch = next(train_input)
    assert train_input.num_images['content'] == 100
  assert batch['content'].shape == (8, 32, 32, 3)
  assert batch['style'].shape == (8, 24, 24, 3)
