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

"""Guided upsampling (`--work-size`): the filter, and what it restores."""

import jax.numpy as jnp
import numpy as np

from zmnet_jax.data import embedded, image_arrays
from zmnet_jax.infer import guided, tiling


def naive_box_mean(x, radius):
  out = np.zeros_like(x)
  height, width = x.shape[1:3]
  for i in range(height):
    for j in range(width):
      window = x[:, max(0, i - radius) : i + radius + 1, max(0, j - radius) : j + radius + 1]
      out[:, i, j] = window.mean(axis=(1, 2))
  return out


def test_box_mean_is_the_clipped_window_mean():
  x = np.random.default_rng(0).uniform(size=(2, 7, 9, 3)).astype(np.float32)
  for radius in (1, 2):
    np.testing.assert_allclose(
      np.asarray(guided.box_mean(jnp.asarray(x), radius)), naive_box_mean(x, radius), atol=1e-6
    )


def test_long_side_shape_keeps_the_aspect_in_multiples_of_4():
  assert tiling.long_side_shape(1000, 1500, 384) == (256, 384)
  assert tiling.long_side_shape(300, 200, 384) is None  # not larger: full resolution
  assert tiling.long_side_shape(2000, 100, 256) == (256, 12)


def psnr(a, b):
  return -10 * np.log10(np.mean((a - b) ** 2))


def test_guided_upsampling_restores_detail_that_bilinear_loses():
  photo = image_arrays.to_float(embedded.IMAGES['content_train']['camera']())  # grey, 512 x 512
  content = np.repeat(photo[..., None], 3, axis=-1)[None, :256, :256]
  small = tiling.resize(content, (64, 64))
  restored = np.asarray(guided.guided_upsample(content, small, small))  # "stylized" = itself
  bilinear = np.asarray(tiling.resize(small, (256, 256)))
  assert restored.shape == content.shape
  assert psnr(restored, content) > psnr(bilinear, content) + 6  # dB
  assert 0.0 <= restored.min() and restored.max() <= 1.0
