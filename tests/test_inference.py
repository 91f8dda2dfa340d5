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

"""Inference on the trained test model: vmapped signals, any size, strength, mixing,
colour preservation, tiles, a large image on CPU, bfloat16."""

import functools
import itertools
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zmnet_jax import infer
from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.infer import color, loading, tiling
from zmnet_jax.models import losses, zmnet as models

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def square(path, size):
  image = image_arrays.resize_short_side(image_files.load_image(path), size)
  return image_arrays.center_crop(image, size).astype(np.float32) / 255.0


def first(din, count=1):
  return jax.tree.map(lambda x: x[:count], din)


@pytest.fixture(scope='module')
def stylizer(trained_workdir):
  return infer.Stylizer.load(trained_workdir)


@pytest.fixture(scope='module')
def folders(word_folders):
  return word_folders  # the embedded sample images, materialized once per session


@pytest.fixture(scope='module')
def contents(folders):
  return np.stack([square(p, 64) for p in image_files.list_images(folders['content_val'])])


@pytest.fixture(scope='module')
def styles(folders):
  paths = (
    image_files.list_images(folders['style_val'])
    + image_files.list_images(folders['style_train'])[:2]
  )
  return [square(p, 64) for p in paths]


def test_vmapped_signals_equal_one_signal_at_a_time(stylizer, contents, styles):
  din = stylizer.encode_images(styles[:3])
  together = stylizer.stylize(contents, din)
  assert together.shape == (3, len(contents), 64, 64, 3)
  for i in range(3):
    alone = stylizer.stylize(contents, jax.tree.map(lambda x, i=i: x[i : i + 1], din))
    np.testing.assert_allclose(together[i], alone[0], atol=1e-5)
  assert np.abs(together[0] - together[1]).mean() > 1e-3  # the signals do differ


@pytest.mark.parametrize('height, width', [(61, 97), (7, 30)])
def test_any_size_comes_back_at_its_size(stylizer, folders, styles, height, width):
  photo = image_files.load_image(image_files.list_images(folders['content_val'])[0])
  image = photo[:height, :width].astype(np.float32)[None] / 255.0
  din = stylizer.encode_images(styles[:1])
  out = stylizer.stylize(image, din)
  assert out.shape == (1, 1, height, width, 3) and np.all(np.isfinite(out))
  padded, _ = tiling.pad_to_stride(image)
  assert padded.shape[1] % 4 == 0 and padded.shape[2] % 4 == 0
  np.testing.assert_allclose(out, stylizer.stylize(padded, din)[:, :, :height, :width], atol=1e-6)


def style_loss(stylizer, images, style):
  """The model's weighted style loss of each image [N, H, W, 3] against one style."""
  loss = stylizer.model.loss
  out = stylizer.model.vgg_features(stylizer.vgg_params, jnp.asarray(images))
  ref = stylizer.model.vgg_features(stylizer.vgg_params, jnp.asarray(style)[None])
  total = 0.0
  for name, weight in loss.style_weights.items():
    if weight:
      target = jnp.broadcast_to(ref[name], (len(images),) + ref[name].shape[1:])
      total += weight * losses.style_distance(out[name], target, loss.style_kind)
  return np.asarray(total)


def test_style_loss_falls_as_strength_rises(stylizer, contents, styles):
  table = {}
  for s, style in enumerate(styles[:2]):
    din = stylizer.encode_images([style])
    outs = [
      stylizer.stylize(contents, stylizer.with_strength(din, contents, a))[0] for a in (0.0, 0.5)
    ] + [stylizer.stylize(contents, din)[0]]
    table[s] = np.stack([style_loss(stylizer, o, style) for o in outs], axis=1)  # [B, 3]
  print('style loss at strength 0, 0.5, 1 (style: [content: losses]):', table)
  for rows in table.values():
    for row in rows:
      assert row[0] > row[1] > row[2], row
      assert row[2] < 0.95 * row[0], row


def test_half_mix_differs_from_both_and_interpolates_din(stylizer, contents, styles):
  din = stylizer.encode_images(styles[:2])
  both = stylizer.stylize(contents, din)
  mixed = stylizer.stylize(contents, infer.mix(din, [0.5, 0.5]))
  halfway = jax.tree.map(lambda x: 0.5 * x[:1] + 0.5 * x[1:], din)
  np.testing.assert_allclose(mixed, stylizer.stylize(contents, halfway), atol=1e-6)
  np.testing.assert_allclose(
    mixed, stylizer.stylize(contents, infer.mix(din, [3, 3])), atol=1e-6
  )  # weights are normalized
  gap = np.abs(both[0] - both[1]).mean()
  for i in range(2):
    assert np.abs(mixed[0] - both[i]).mean() > 0.2 * gap


def test_preserve_color_keeps_the_content_chroma(stylizer, contents, styles):
  din = stylizer.encode_images(styles[2:3])
  plain = stylizer.stylize(contents, din)
  kept = stylizer.stylize(contents, din, preserve_colors=True)
  chroma = lambda x: color.rgb_to_yiq(np.asarray(x, np.float32))[..., 1:]
  target = np.broadcast_to(chroma(contents), kept.shape[:-1] + (2,))
  inside = np.all((kept > 0) & (kept < 1), axis=-1)  # pixels that were not clipped
  assert inside.mean() > 0.9
  np.testing.assert_allclose(chroma(kept)[inside], target[inside], atol=1e-5)
  luma = lambda x: color.rgb_to_yiq(np.asarray(x, np.float32))[..., 0]
  np.testing.assert_allclose(luma(kept)[inside], luma(plain)[inside], atol=1e-5)
  assert np.abs(chroma(plain) - target).mean() > 0.01  # the style does change colours


def test_yiq_round_trip_is_exact():
  rgb = np.random.default_rng(0).uniform(size=(100, 3)).astype(np.float32)
  np.testing.assert_allclose(color.yiq_to_rgb(color.rgb_to_yiq(rgb)), rgb, atol=1e-6)


@pytest.mark.parametrize(
  'length, tile, halo', [(384, 256, 36), (1000, 240, 60), (200, 256, 60), (3000, 1024, 60)]
)
def test_tile_windows_partition_the_image_and_carry_the_halo(length, tile, halo):
  windows = tiling.tile_windows(length, tile, halo)
  cores = [(c0, c1) for _, c0, c1 in windows]
  assert cores[0][0] == 0 and cores[-1][1] == length
  assert all(a[1] == b[0] for a, b in itertools.pairwise(cores))  # contiguous, no overlap
  for start, c0, c1 in windows:
    end = start + min(tile, length)
    assert 0 <= start and end <= length and start % 4 == 0
    assert start <= c0 - halo or start == 0
    assert end >= c1 + halo or end == length


def test_tiles_too_small_for_the_halo_are_refused():
  with pytest.raises(ValueError, match='too small for a 36 px halo'):
    tiling.tile_windows(1000, 128, 36)


@pytest.fixture(scope='module')
def photo_384x448(folders):
  photo = image_files.load_image(image_files.list_images(folders['content_val'])[1])
  return image_arrays.resize_short_side(photo, 384)[:384, :448].astype(np.float32)[None] / 255


def test_tiled_output_matches_untiled(stylizer, photo_384x448, styles):
  din = stylizer.encode_images(styles[:1])
  whole = stylizer.stylize(photo_384x448, din, tile_size=4096)
  halo = tiling.tile_halo(stylizer.model.net.tnet)
  assert halo == 36 and len(tiling.image_tiles(384, 448, 192, halo)) == 4 * 4
  tiled = stylizer.stylize(photo_384x448, din, tile_size=192, stats_max_side=4096)
  np.testing.assert_allclose(tiled, whole, atol=1e-4)


def test_exact_statistics_make_tiles_equal_an_untiled_pass(stylizer, photo_384x448, styles):
  din = stylizer.encode_images(styles[:2])
  whole = stylizer.stylize(photo_384x448, din, tile_size=4096)
  tiled = functools.partial(stylizer.stylize, photo_384x448, din, tile_size=256, stats_max_side=96)
  approximate, exact = tiled(), tiled(exact_stats=True)
  assert np.abs(approximate - whole).mean() > 5e-3  # downscaled statistics do differ
  np.testing.assert_allclose(exact, whole, atol=1e-4)


@pytest.mark.parametrize('blocks', [1, 5])
def test_receptive_radius_bounds_what_an_output_pixel_sees(blocks):
  """The gradient of one output pixel (statistics held fixed) is zero past the radius."""
  config = models.TNetConfig(channels=(8, 8, 8), num_residual_blocks=blocks)
  layers = models.conditioned_layers(config)
  din = {name: (jnp.ones((1, c)), jnp.full((1, c), 0.1)) for name, c in layers}
  stats = {name: (jnp.zeros((1, c)), jnp.ones((1, c))) for name, c in layers}
  tnet = models.TNet(config, stats=stats)
  size, centre = 160, 80
  images = jnp.asarray(np.random.default_rng(0).uniform(size=(1, size, size, 3)), jnp.float32)
  params = tnet.init(jax.random.PRNGKey(0), images, din)
  pixel = lambda x: tnet.apply(params, x, din)[0, centre, centre].sum()
  grad = np.abs(np.asarray(jax.grad(pixel)(images))[0]).sum(-1)
  rows, cols = np.nonzero(grad)
  reach = max(np.abs(rows - centre).max(), np.abs(cols - centre).max())
  radius = models.receptive_radius(config)
  print(f'{blocks} residual blocks: reach {reach}, radius {radius}')
  assert radius - 8 <= reach <= radius


# The peak is this process's own high-water mark (VmHWM): ru_maxrss would also count the
# parent's resident memory at the fork (Linux keeps it across exec), a pytest worker's ~3 GB.
LARGE_IMAGE = """
import json, sys, time
import numpy as np
from PIL import Image
from zmnet_jax import infer
from zmnet_jax.data import image_files
stylizer = infer.Stylizer.load(sys.argv[1])
photo = Image.fromarray(image_files.load_image(sys.argv[2])).resize((2000, 3000), Image.BICUBIC)
content = np.asarray(photo, np.float32)[None] / 255
din = stylizer.encode_images([image_files.load_image(sys.argv[3]).astype(np.float32) / 255])
tiles = []
fns = stylizer.functions
transform = fns.transform_with_stats
fns.transform_with_stats = lambda *a: tiles.append(a[1].shape[1:3]) or transform(*a)
start = time.time()
out = stylizer.stylize(content, din)
print(json.dumps({'shape': out.shape, 'seconds': time.time() - start, 'tiles': tiles,
                  'finite': bool(np.isfinite(out).all()), 'std': float(out.std()),
                  'peak_rss_mb': int([l for l in open('/proc/self/status')
                                      if l.startswith('VmHWM:')][0].split()[1]) / 1024}))
"""


@pytest.mark.slow
@pytest.mark.optimized  # the memory users' runs take
def test_3000x2000_image_stylizes_on_cpu_in_bounded_memory(trained_workdir, folders):
  content = image_files.list_images(folders['content_val'])[1]
  style = image_files.list_images(folders['style_val'])[0]
  result = subprocess.run(
    [sys.executable, '-c', LARGE_IMAGE, trained_workdir, content, style],
    cwd=REPO,
    capture_output=True,
    text=True,
    timeout=600,
    check=False,
  )
  assert result.returncode == 0, result.stderr[-2000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  print('3000x2000, default 1024 px tiles:', report)
  assert report['shape'] == [1, 1, 3000, 2000, 3] and report['finite'] and report['std'] > 0.01
  assert len(report['tiles']) == 12 and max(max(t) for t in report['tiles']) <= 1024
  # Measured 1.07 GB for the whole process (its own VmHWM); untiled it peaks at 2.3-2.7 GB.
  assert report['peak_rss_mb'] < 2048


def test_bfloat16_is_close_to_float32(trained_workdir, stylizer, contents, styles):
  half = infer.Stylizer.load(trained_workdir, dtype='bfloat16')
  assert half.model.net.dtype == jnp.bfloat16
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(half.params))
  out32 = stylizer.stylize(contents, stylizer.encode_images(styles[:1]))
  out16 = half.stylize(contents, half.encode_images(styles[:1]))
  diff = np.abs(out16 - out32)
  print(f'bfloat16 vs float32: max {diff.max():.4f} mean {diff.mean():.4f}')
  assert diff.mean() < 0.01 and np.percentile(diff, 99) < 0.05 and diff.max() < 0.15


def test_styles_are_encoded_at_their_short_side(stylizer, styles):
  wide = np.concatenate([styles[0], styles[1]], axis=1)  # 64 x 128
  assert image_arrays.resize_short_side(wide, 32).shape == (32, 64, 3)
  direct = stylizer.encode_images([wide], style_size=32)
  small = image_arrays.resize_short_side(wide, 32)[None]
  expected = stylizer.functions.encode(stylizer.params, stylizer.vgg_params, small)
  for a, b in zip(jax.tree.leaves(direct), jax.tree.leaves(expected), strict=True):
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_model_path_may_be_workdir_checkpoints_or_step(trained_workdir):
  def where(path):
    source = loading.resolve_model_path(path)
    return source.config_path, source.checkpoints, source.step

  config, ckpt_dir, step = where(trained_workdir)
  assert os.path.basename(config) == 'config.json' and step is None
  assert where(ckpt_dir) == (config, ckpt_dir, None)
  assert where(os.path.join(ckpt_dir, '40')) == (config, ckpt_dir, 40)
  with pytest.raises(infer.InferenceError, match='not found'):
    loading.resolve_model_path(os.path.join(trained_workdir, 'nope'))


def test_bad_strength_and_mix_are_inference_errors(stylizer, contents, styles):
  din = stylizer.encode_images(styles[:2])
  with pytest.raises(infer.InferenceError, match='strength'):
    stylizer.with_strength(din, contents, 1.5)
  with pytest.raises(infer.InferenceError, match='one weight per signal'):
    infer.mix(din, [1.0])
  with pytest.raises(infer.InferenceError, match='not all zero'):
    infer.mix(din, [0.0, 0.0])
  with pytest.raises(infer.InferenceError, match='finite'):
    infer.mix(din, [float('inf'), 1.0])


def test_inference_api_is_exported_at_package_level():
  import zmnet_jax

  assert zmnet_jax.Stylizer is infer.Stylizer
  assert zmnet_jax.mix is infer.mix
  with pytest.raises(AttributeError):
    _ = zmnet_jax.no_such_thing


def test_a_style_seen_twice_is_encoded_once(stylizer, styles, monkeypatch):
  calls = []
  encode = stylizer.encode_inputs
  monkeypatch.setattr(stylizer, 'encode_inputs', lambda x: calls.append(x.shape) or encode(x))
  a, b = np.flipud(styles[0]), np.fliplr(styles[1])  # images no other test encoded
  first = stylizer.encode_images([a, b], 64)
  again = stylizer.encode_images([np.array(b), a], 64)
  assert len(calls) == 2  # the second call hit the cache for both
  for x, y in zip(jax.tree.leaves(first), jax.tree.leaves(again), strict=True):
    np.testing.assert_array_equal(x[0], y[1])
    np.testing.assert_array_equal(x[1], y[0])
  stylizer.encode_images([a], 48)  # another size is another encoding
  assert len(calls) == 3
