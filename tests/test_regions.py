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

"""Spatial control (`--mask`, `infer.regions`): masks to weights, and two regions that each
equal their signal alone."""

import importlib.util

import numpy as np
from PIL import Image
import pytest

from zmnet_jax import infer
from zmnet_jax.cli import stylize
from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.infer import regions

HEIGHT, WIDTH, EDGE = 48, 64, 28


def test_a_greyscale_mask_weighs_the_second_of_two_signals():
  grey = np.broadcast_to(np.array([0, 51, 255], np.uint8)[None, :, None], (2, 3, 3))
  weights = regions.mask_weights(grey, 2)
  np.testing.assert_allclose(weights[1, 0], [0.0, 0.2, 1.0], atol=1e-6)
  np.testing.assert_allclose(weights.sum(0), 1.0)


def test_a_label_mask_gives_signals_to_colours_darkest_first():
  colours = np.array([[255, 255, 0], [0, 0, 90], [200, 0, 0]], np.uint8)  # luma 226, 10, 60
  mask = colours[np.array([[0, 1, 2, 1]])]
  weights = regions.mask_weights(mask, 3)
  assert weights.argmax(0).tolist() == [[2, 0, 1, 0]] and set(np.unique(weights)) == {0, 1}
  with pytest.raises(infer.InferenceError, match=r'^m.png: 3 colours for 2 signals'):
    regions.mask_weights(mask, 2, 'm.png')
  with pytest.raises(infer.InferenceError, match='two or more signals'):
    regions.mask_weights(mask, 1)


def test_masks_of_the_content_s_aspect_fit_and_others_are_refused():
  regions.check_shape((24, 32), (48, 64), 'm.png', 'c.png')
  with pytest.raises(infer.InferenceError, match=r'^m.png: 32x32 does not fit c.png \(64x48\)'):
    regions.check_shape((32, 32), (48, 64), 'm.png', 'c.png')
  hard = np.stack([np.ones((2, 2)), np.zeros((2, 2))]).astype(np.float32)
  fitted = regions.fit(hard, (4, 4))
  assert fitted.shape == (2, 4, 4)
  np.testing.assert_allclose(fitted.sum(0), 1.0, atol=1e-6)


@pytest.fixture(scope='module')
def images(tmp_path_factory, word_folders):
  """A content, two styles, a hard mask (black left of EDGE, white right) and a soft one."""
  root = tmp_path_factory.mktemp('regions')
  content = image_files.load_image(image_files.list_images(word_folders['content_train'])[0])
  image_files.save_image(root / 'content.png', content[:HEIGHT, :WIDTH])
  for i, path in enumerate(image_files.list_images(word_folders['style_train'])[:2]):
    image_files.save_image(root / 'styles' / f'{i}.png', image_files.load_image(path)[:64, :64])
  hard = np.zeros((HEIGHT, WIDTH), np.uint8)
  hard[:, EDGE:] = 255
  Image.fromarray(hard).save(root / 'hard.png')
  Image.fromarray(np.full((HEIGHT, WIDTH), 128, np.uint8)).save(root / 'half.png')
  big = image_arrays.resize_short_side(content, 256)[:192, :256]
  image_files.save_image(root / 'big.png', big)
  big_mask = np.zeros((96, 128), np.uint8)  # half the size: it is resized to the content
  big_mask[:, 50:] = 255
  Image.fromarray(big_mask).save(root / 'big_hard.png')
  return root


def outputs(root, out, model, mask, *extra, content='content.png'):
  """(the masked output, each signal's output alone) as uint8 arrays, written under `out`."""
  base = ['--model', model, '--content', root / content, *extra]
  alone, masked = out / 'alone', out / 'masked'
  for folder, more in ((alone, []), (masked, ['--mask', root / mask])):
    assert stylize.main([str(a) for a in [*base, '--out', folder, *more]]) == 0
  pictures = sorted(alone.iterdir())
  name = f'{content[:-4]}__mask.png'
  assert [p.name for p in masked.iterdir()] == [name]
  return image_files.load_image(masked / name), [image_files.load_image(p) for p in pictures]


BACKENDS = ['jax'] + (['onnx'] if importlib.util.find_spec('onnxruntime') else [])


@pytest.mark.parametrize('backend', BACKENDS)
def test_each_region_equals_its_style_alone(images, tmp_path, trained_workdir, backend):
  styles = ['--style', images / 'styles', '--backend', backend]
  masked, (first, second) = outputs(images, tmp_path, trained_workdir, 'hard.png', *styles)
  np.testing.assert_array_equal(masked[:, :EDGE], first[:, :EDGE])
  np.testing.assert_array_equal(masked[:, EDGE:], second[:, EDGE:])
  assert np.abs(first.astype(int) - second).mean() > 5  # the styles differ


def test_regions_hold_through_tiles_and_a_resized_mask(images, tmp_path, trained_workdir):
  styles = ['--style', images / 'styles', '--tile-size', '144']  # 3 x 2 tiles of 192 x 256
  masked, (first, second) = outputs(
    images, tmp_path, trained_workdir, 'big_hard.png', *styles, content='big.png'
  )
  assert masked.shape == (192, 256, 3)
  np.testing.assert_array_equal(masked[:, :99], first[:, :99])  # the mask's edge: column 100
  np.testing.assert_array_equal(masked[:, 101:], second[:, 101:])


def test_a_grey_mask_blends_the_two_styles_halfway(images, tmp_path, trained_workdir):
  masked, (first, second) = outputs(
    images, tmp_path, trained_workdir, 'half.png', '--style', images / 'styles'
  )
  halfway = (128 / 255) * second + (127 / 255) * first
  assert np.abs(masked - halfway).max() <= 1.0


def test_words_take_their_regions_on_a_word_model(images, tmp_path, trained_word_workdir):
  masked, (night, noon) = outputs(
    images, tmp_path, trained_word_workdir, 'hard.png', '--text', 'noon', 'night'
  )  # outputs alone are sorted by name: night, noon
  np.testing.assert_array_equal(masked[:, :EDGE], noon[:, :EDGE])
  np.testing.assert_array_equal(masked[:, EDGE:], night[:, EDGE:])
