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

"""Perceptual loss terms: values, zeros for identical inputs, gradient directions."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from zmnet_jax.models import losses


def feats(key, n=2, size=8, channels=(4, 6)):
  keys = jax.random.split(jax.random.key(key), len(channels))
  return {
    f'relu{i + 1}_1': jax.nn.relu(jax.random.normal(k, (n, size >> i, size >> i, c)))
    for i, (k, c) in enumerate(zip(keys, channels, strict=True))
  }


def loss_config(kind='gram'):
  return ml_collections.ConfigDict(
    dict(
      content_weights={'relu2_1': 1.0},
      style_weights={'relu1_1': 2.0, 'relu2_1': 3.0},
      style_kind=kind,
      tv_weight=0.5,
    )
  )


def test_gram_matrix_is_normalized_by_size():
  f = jnp.ones((1, 4, 5, 3))
  np.testing.assert_allclose(losses.gram_matrix(f), np.full((1, 3, 3), 1 / 3), rtol=1e-6)
  # Same statistics at another resolution: same Gram matrix.
  f2 = jnp.ones((1, 8, 10, 3))
  np.testing.assert_allclose(losses.gram_matrix(f2), losses.gram_matrix(f), rtol=1e-6)


@pytest.mark.parametrize('kind', ['gram', 'mean_std'])
def test_losses_are_zero_for_identical_inputs(kind):
  f = feats(0)
  images = jax.random.uniform(jax.random.key(1), (2, 8, 8, 3))
  terms = losses.perceptual_loss_terms(images, f, f, f, loss_config(kind))
  for name in ('content', 'style', 'content/relu2_1', 'style/relu1_1', 'style/relu2_1'):
    np.testing.assert_allclose(terms[name], 0.0, atol=1e-6)
    assert terms[name].shape == (2,)
  assert float(terms['tv'].min()) > 0  # random images are not smooth
  np.testing.assert_allclose(terms['total'], terms['tv'], rtol=1e-6)


def test_terms_are_weighted_and_summed():
  out, content, style = feats(0), feats(1), feats(2)
  images = jnp.zeros((2, 8, 8, 3))
  terms = losses.perceptual_loss_terms(images, out, content, style, loss_config())
  expected_style = 2.0 * losses.style_distance(
    out['relu1_1'], style['relu1_1'], 'gram'
  ) + 3.0 * losses.style_distance(out['relu2_1'], style['relu2_1'], 'gram')
  np.testing.assert_allclose(terms['style'], expected_style, rtol=1e-5)
  mse = jnp.mean((out['relu2_1'] - content['relu2_1']) ** 2, axis=(1, 2, 3))
  np.testing.assert_allclose(terms['content'], mse, rtol=1e-5)
  np.testing.assert_allclose(
    terms['total'], terms['content'] + terms['style'] + terms['tv'], rtol=1e-6
  )
  assert losses.loss_layers(loss_config()) == ['relu1_1', 'relu2_1']


def test_zero_weight_drops_a_layer():
  config = loss_config()
  config.style_weights.relu1_1 = 0.0
  terms = losses.style_terms(feats(0), feats(1), config.style_weights)
  assert list(terms) == ['style/relu2_1']


def test_content_gradient_points_away_from_the_target():
  out, target = feats(0)['relu2_1'], feats(1)['relu2_1']
  grad = jax.grad(
    lambda o: jnp.sum(
      losses.content_terms({'relu2_1': o}, {'relu2_1': target}, {'relu2_1': 1.0})['content/relu2_1']
    )
  )(out)
  # d/dx mean((x - t)^2) = 2 (x - t) / n: same sign as (x - t) everywhere it is nonzero.
  diff = np.asarray(out - target)
  mask = np.abs(diff) > 1e-6
  assert np.all(np.sign(np.asarray(grad))[mask] == np.sign(diff)[mask])


@pytest.mark.parametrize('kind', ['gram', 'mean_std'])
def test_a_small_step_against_the_gradient_lowers_the_style_loss(kind):
  out, style = feats(0)['relu1_1'], 2.0 * feats(3)['relu1_1']
  loss = lambda o: jnp.sum(losses.style_distance(o, style, kind))
  grad = jax.grad(loss)(out)
  assert float(loss(out - 1e-2 * grad / jnp.linalg.norm(grad))) < float(loss(out))
  assert float(loss(out + 1e-2 * grad / jnp.linalg.norm(grad))) > float(loss(out))


def test_total_variation_values_and_gradient():
  flat = jnp.full((1, 6, 6, 3), 0.3)
  assert float(losses.total_variation(flat)[0]) == 0.0
  stripes = jnp.tile(jnp.array([0.0, 1.0]), 3)[None, None, :, None] * jnp.ones((1, 6, 1, 3))
  # Every horizontal neighbour pair differs by 1; vertical neighbours are equal.
  np.testing.assert_allclose(losses.total_variation(stripes), [1.0], rtol=1e-6)
  grad = jax.grad(lambda x: losses.total_variation(x)[0])(stripes)
  # Descending the gradient smooths: it darkens bright pixels and brightens dark ones
  # (interior columns 1..4 = 1, 0, 1, 0; the border columns have one neighbour only).
  g = np.asarray(grad)[0, 0, 1:-1, 0]
  assert np.all(g[::2] > 0) and np.all(g[1::2] < 0)


def test_unknown_style_kind_is_rejected():
  with pytest.raises(ValueError, match="'gram' or 'mean_std'"):
    losses.style_distance(jnp.ones((1, 2, 2, 1)), jnp.ones((1, 2, 2, 1)), 'l1')
