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

"""TNet, DIN and PNet: numerics, the PNet/TNet contract, full convolutionality."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zmnet_jax.models import convs, zmnet as models

SLIM = models.TNetConfig(channels=(8, 16, 32), num_residual_blocks=2)
WIDE = models.TNetConfig(channels=(16, 24, 40), num_residual_blocks=3)


def identity_din(config, batch):
  return {
    name: (jnp.ones((batch, c)), jnp.zeros((batch, c)))
    for name, c in models.conditioned_layers(config)
  }


def fake_vgg_features(batch, size=32, key=0):
  """Random activations with the channel counts of VGG's relu{1..4}_1."""
  keys = jax.random.split(jax.random.key(key), 4)
  return {
    name: jax.nn.relu(jax.random.normal(k, (batch, size >> i, size >> i, c)))
    for i, (name, c, k) in enumerate(
      zip(models.STYLE_ENCODER_LAYERS, (64, 128, 256, 512), keys, strict=True)
    )
  }


def test_din_takes_per_pixel_maps_of_gamma_and_beta():
  x = jax.random.normal(jax.random.key(3), (2, 4, 6, 3))
  gamma, beta = jnp.array([[2.0, 1.0, 0.5]] * 2), jnp.array([[0.1, 0.2, 0.3]] * 2)
  per_sample = models.dynamic_instance_norm(x, gamma, beta)
  maps = lambda p: jnp.broadcast_to(p[:, None, None, :], x.shape)
  np.testing.assert_allclose(
    models.dynamic_instance_norm(x, maps(gamma), maps(beta)), per_sample, atol=1e-6
  )
  left = jnp.where(jnp.arange(6)[None, None, :, None] < 3, maps(gamma), 0.0)
  halves = np.asarray(models.dynamic_instance_norm(x, left, maps(beta)))
  np.testing.assert_allclose(halves[:, :, :3], np.asarray(per_sample)[:, :, :3], atol=1e-6)
  np.testing.assert_allclose(halves[:, :, 3:], np.broadcast_to(beta[:, None, None], (2, 4, 3, 3)))


def test_din_normalizes_per_sample_and_channel_then_applies_affine():
  rng = np.random.default_rng(0)
  x = rng.normal(3.0, 5.0, (2, 6, 7, 4)).astype(np.float32)
  x[1] *= 10  # a different scale per sample must not leak into the other sample
  gamma = rng.normal(size=(2, 4)).astype(np.float32)
  beta = rng.normal(size=(2, 4)).astype(np.float32)
  y = np.asarray(models.dynamic_instance_norm(x, gamma, beta, eps=1e-5))
  mean = x.mean(axis=(1, 2), keepdims=True)
  var = x.var(axis=(1, 2), keepdims=True)
  expected = gamma[:, None, None] * (x - mean) / np.sqrt(var + 1e-5) + beta[:, None, None]
  np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
  # With the identity affine every (sample, channel) has mean 0 and std 1.
  z = np.asarray(models.dynamic_instance_norm(x, np.ones((2, 4)), np.zeros((2, 4))))
  np.testing.assert_allclose(z.mean(axis=(1, 2)), 0.0, atol=1e-4)
  np.testing.assert_allclose(z.std(axis=(1, 2)), 1.0, atol=1e-3)


def test_conditioned_layers_follow_the_tnet_width():
  layers = models.conditioned_layers(SLIM)
  assert layers[:3] == [('conv1', 8), ('conv2', 16), ('conv3', 32)]
  assert layers[-2:] == [('up1', 16), ('up2', 8)]
  assert len(layers) == 3 + 2 * SLIM.num_residual_blocks + 2
  assert len(models.conditioned_layers(models.TNetConfig())) == 15


@pytest.mark.parametrize('fast', [True, False])
@pytest.mark.parametrize('stride,kernel', [(1, 3), (1, 9), (2, 3)])
def test_fast_padding_equals_reflect_pad_valid_conv(stride, kernel, fast):
  x = jax.random.normal(jax.random.key(1), (2, 22, 18, 5))
  conv = convs.ReflectConv(7, kernel, stride, fast=fast)
  params = conv.init(jax.random.key(2), x)
  kernel_w = params['params']['conv']['kernel']
  bias = params['params']['conv']['bias']
  padded = convs.reflect_pad(x, kernel // 2)
  plain = (
    jax.lax.conv_general_dilated(
      padded, kernel_w, (stride, stride), 'VALID', dimension_numbers=('NHWC', 'HWIO', 'NHWC')
    )
    + bias
  )
  np.testing.assert_allclose(conv.apply(params, x), plain, rtol=1e-5, atol=1e-5)


def test_tnet_fast_and_plain_paths_agree():
  x = jax.random.uniform(jax.random.key(0), (1, 32, 40, 3))
  din = identity_din(SLIM, 1)
  fast = models.TNet(SLIM)
  params = fast.init(jax.random.key(1), x, din)
  plain = models.TNet(
    models.TNetConfig(SLIM.channels, SLIM.num_residual_blocks, fast_padding=False)
  )
  np.testing.assert_allclose(
    fast.apply(params, x, din), plain.apply(params, x, din), rtol=1e-5, atol=1e-5
  )


def test_upsample_conv_equals_upsampling_then_a_reflect_padded_conv():
  x = jax.random.normal(jax.random.key(0), (2, 6, 10, 8))
  fast = convs.UpsampleConv(5)
  plain = convs.ReflectConv(5, 3, fast=False)
  params = fast.init(jax.random.key(1), x)
  params = jax.tree.map(lambda p: p + jax.random.normal(jax.random.key(2), p.shape), params)
  expected = plain.apply(params, convs.upsample_nearest(x, 2))
  assert expected.shape == (2, 12, 20, 5)
  np.testing.assert_allclose(fast.apply(params, x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('shape', [(1, 8, 12, 4), (2, 10, 6, 3)])
def test_strided_fast_conv_equals_the_plain_one(shape):
  x = jax.random.normal(jax.random.key(0), shape)
  fast, plain = convs.ReflectConv(6, 3, 2, fast=True), convs.ReflectConv(6, 3, 2, fast=False)
  params = fast.init(jax.random.key(1), x)
  params = jax.tree.map(lambda p: p + jax.random.normal(jax.random.key(2), p.shape), params)
  expected = plain.apply(params, x)
  assert expected.shape == (shape[0], shape[1] // 2, shape[2] // 2, 6)
  np.testing.assert_allclose(fast.apply(params, x), expected, rtol=1e-5, atol=1e-5)


def test_tnet_fast_and_plain_paths_initialize_the_same_params():
  x = jnp.zeros((1, 32, 32, 3))
  din = identity_din(SLIM, 1)
  plain_config = models.TNetConfig(SLIM.channels, SLIM.num_residual_blocks, fast_padding=False)
  fast = models.TNet(SLIM).init(jax.random.key(3), x, din)
  plain = models.TNet(plain_config).init(jax.random.key(3), x, din)
  assert jax.tree.structure(fast) == jax.tree.structure(plain)
  for a, b in zip(jax.tree.leaves(fast), jax.tree.leaves(plain), strict=True):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize('size', [(256, 256), (384, 384), (64, 96)])
def test_tnet_is_fully_convolutional(size):
  tnet = models.TNet(SLIM)
  din = identity_din(SLIM, 1)
  params = tnet.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)), din)
  y = jax.jit(tnet.apply)(params, jnp.full((1, *size, 3), 0.5), din)
  assert y.shape == (1, *size, 3)
  assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


@pytest.mark.parametrize('size', [(255, 256), (66, 64)])
def test_tnet_rejects_sizes_not_multiple_of_4(size):
  tnet = models.TNet(SLIM)
  with pytest.raises(ValueError, match=r'multiples of 4.*pad the image'):
    tnet.init(jax.random.key(0), jnp.zeros((1, *size, 3)), identity_din(SLIM, 1))


def test_tnet_din_parameters_change_the_output():
  tnet = models.TNet(SLIM)
  x = jax.random.uniform(jax.random.key(0), (1, 32, 32, 3))
  din = identity_din(SLIM, 1)
  params = tnet.init(jax.random.key(1), x, din)
  other = dict(din, conv1=(2.0 * din['conv1'][0], din['conv1'][1] + 0.5))
  assert float(jnp.abs(tnet.apply(params, x, din) - tnet.apply(params, x, other)).max()) > 1e-3


@pytest.mark.parametrize('variant', ['serial', 'parallel'])
@pytest.mark.parametrize('signal_kind', ['image', 'vector'])
@pytest.mark.parametrize('tnet_config', [SLIM, WIDE], ids=['slim', 'wide'])
def test_pnet_output_matches_the_tnet_contract(variant, signal_kind, tnet_config):
  net = models.ZMNet(tnet_config, models.PNetConfig(variant=variant, signal=signal_kind, width=32))
  batch = 3
  signal = (
    fake_vgg_features(batch)
    if signal_kind == 'image'
    else jax.random.normal(jax.random.key(0), (batch, 7))
  )
  images = jnp.zeros((batch, 16, 16, 3))
  variables = net.init(jax.random.key(1), images, signal)
  din = net.apply(variables, signal, method=models.ZMNet.encode)
  expected = models.conditioned_layers(tnet_config)
  assert list(din) == [name for name, _ in expected]
  for name, channels in expected:
    gamma, beta = din[name]
    assert gamma.shape == beta.shape == (batch, channels)
  # Near the identity at init, yet different signals give different parameters.
  assert float(jnp.abs(din['conv1'][0] - 1.0).max()) < 0.5
  assert float(jnp.abs(din['conv1'][0][0] - din['conv1'][0][1]).max()) > 1e-6
  out = net.apply(variables, images, din, method=models.ZMNet.transform)
  assert out.shape == images.shape


def test_serial_pnet_chains_stages_and_parallel_does_not():
  layers = tuple(models.conditioned_layers(SLIM))
  emb = jax.random.normal(jax.random.key(0), (2, 16))
  for cls, chained in ((models.SerialPNet, True), (models.ParallelPNet, False)):
    net = cls(layers, width=16)
    params = net.init(jax.random.key(1), emb)
    # Perturb the first layer's stage/branch: in the serial net every later layer moves.
    first = 'stage_conv1' if chained else 'branch_conv1'
    bumped = jax.tree.map(lambda p: p, params)
    bias = bumped['params'][first]['fc2']['bias']
    bumped['params'][first]['fc2']['bias'] = bias + jnp.linspace(-1.0, 1.0, bias.shape[0])
    base, moved = net.apply(params, emb), net.apply(bumped, emb)
    last_changed = float(jnp.abs(base['up2'][0] - moved['up2'][0]).max()) > 1e-6
    assert last_changed == chained, cls.__name__


def test_image_encoder_accepts_any_resolution():
  net = models.ZMNet(SLIM, models.PNetConfig(signal='image', width=32))
  images = jnp.zeros((2, 16, 16, 3))
  variables = net.init(jax.random.key(0), images, fake_vgg_features(2, 32))
  din_small = net.apply(variables, fake_vgg_features(2, 32), method=models.ZMNet.encode)
  din_large = net.apply(variables, fake_vgg_features(2, 64), method=models.ZMNet.encode)
  assert din_small['conv1'][0].shape == din_large['conv1'][0].shape == (2, 8)


def test_vector_encoder_takes_any_dimension():
  for dim in (2, 300):
    net = models.ZMNet(SLIM, models.PNetConfig(signal='vector', width=32))
    v = jnp.ones((1, dim))
    variables = net.init(jax.random.key(0), jnp.zeros((1, 16, 16, 3)), v)
    assert net.apply(variables, v, method=models.ZMNet.encode)['conv1'][0].shape == (1, 8)


def test_mixing_din_params_interpolates():
  a = {'conv1': (jnp.ones((1, 4)), jnp.zeros((1, 4)))}
  b = {'conv1': (3 * jnp.ones((1, 4)), 2 * jnp.ones((1, 4)))}
  mixed = models.mix_din_params([a, b], [1.0, 1.0])
  np.testing.assert_allclose(mixed['conv1'][0], 2.0)
  np.testing.assert_allclose(mixed['conv1'][1], 1.0)
  quarter = models.mix_din_params([a, b], [3, 1])
  np.testing.assert_allclose(quarter['conv1'][0], 1.5)
  with pytest.raises(ValueError, match='one weight per signal'):
    models.mix_din_params([a, b], [1.0])


def test_bad_pnet_config_is_rejected():
  with pytest.raises(ValueError, match='pnet.variant'):
    models.PNetConfig.from_config({'variant': 'diagonal'})
  with pytest.raises(ValueError, match='pnet.signal'):
    models.PNetConfig.from_config({'signal': 'audio'})
