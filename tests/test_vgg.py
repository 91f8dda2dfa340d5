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

"""Tests for the VGG loss network (zmnet_jax.vgg) with real ImageNet weights."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from skimage import data

from zmnet_jax.models.vgg import VGG, layer_names, load_vgg, preprocess
from zmnet_jax.models.vgg_weights import conv_shapes

TEXTURES = ('brick', 'grass', 'gravel')
GRAM_LAYERS = ('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1')


@functools.cache
def _pretrained(arch, last_layer):
  return load_vgg(arch, last_layer=last_layer)


def test_layer_names():
  assert layer_names('vgg16')[:3] == ['relu1_1', 'relu1_2', 'relu2_1']
  assert len(layer_names('vgg16')) == 13 and layer_names('vgg16')[-1] == 'relu5_3'
  assert len(layer_names('vgg19')) == 16 and layer_names('vgg19')[-1] == 'relu5_4'
  assert 'relu3_4' in layer_names('vgg19') and 'relu3_4' not in layer_names('vgg16')
  with pytest.raises(ValueError, match='arch'):
    layer_names('vgg11')


@pytest.mark.parametrize('arch', ['vgg16', 'vgg19'])
def test_param_tree_and_output_shapes(arch):
  x = jnp.zeros((2, 32, 48, 3))
  variables = jax.eval_shape(VGG(arch=arch).init, jax.random.key(0), x)
  params = variables['params']
  assert list(params) == list(conv_shapes(arch))
  for name, shape in conv_shapes(arch).items():
    assert params[name]['kernel'].shape == shape and params[name]['bias'].shape == shape[-1:]
  out = jax.eval_shape(VGG(arch=arch).apply, variables, x)
  assert list(out) == layer_names(arch)
  for name, value in out.items():
    scale = 2 ** (int(name[4]) - 1)
    assert value.shape == (2, 32 // scale, 48 // scale, conv_shapes(arch)['conv' + name[4:]][-1])


def test_last_layer_trims_outputs_and_params():
  module, variables = _pretrained('vgg19', 'relu3_1')
  assert module.preprocessing == 'caffe' and module.last_layer == 'relu3_1'
  assert list(variables['params']) == ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1']
  out = module.apply(variables, jnp.full((1, 16, 16, 3), 0.5))
  assert list(out) == ['relu1_1', 'relu1_2', 'relu2_1', 'relu2_2', 'relu3_1']
  assert out['relu3_1'].shape == (1, 4, 4, 256)


def test_invalid_options():
  x = jnp.zeros((1, 8, 8, 3))
  with pytest.raises(ValueError, match='last_layer'):
    VGG(last_layer='relu5_4', arch='vgg16').init(jax.random.key(0), x)
  with pytest.raises(ValueError, match='pooling'):
    VGG(pooling='median').init(jax.random.key(0), x)
  with pytest.raises(ValueError, match='preprocessing'):
    VGG(preprocessing='bgr').init(jax.random.key(0), x)
  with pytest.raises(ValueError, match='pooling'):
    load_vgg('vgg19', pooling='min')


def _conv_at(patch, kernel, bias):
  """Hand-computed relu(conv) at one pixel: patch [3, 3, C] already zero-padded."""
  return np.maximum(np.einsum('hwi,hwio->o', patch, kernel.astype(np.float64)) + bias, 0.0)


@pytest.mark.parametrize('arch', ['vgg16', 'vgg19'])
def test_constant_image_first_layer_matches_numpy(arch):
  module, variables = _pretrained(arch, 'relu1_1')
  rgb = np.array([0.9, 0.5, 0.1])
  if arch == 'vgg19':  # caffe: BGR order, [0, 255], minus the BGR mean pixel
    pixel = rgb[::-1] * 255.0 - np.array([103.939, 116.779, 123.68])
    assert module.preprocessing == 'caffe'
  else:  # torchvision: RGB order, ImageNet mean / std
    pixel = (rgb - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    assert module.preprocessing == 'torchvision'
  out = np.asarray(module.apply(variables, jnp.broadcast_to(rgb, (1, 8, 8, 3)))['relu1_1'])

  kernel = np.asarray(variables['params']['conv1_1']['kernel'])
  bias = np.asarray(variables['params']['conv1_1']['bias'])
  full = np.broadcast_to(pixel, (3, 3, 3))
  corner = np.zeros((3, 3, 3))
  corner[1:, 1:] = pixel  # zero padding at the top-left corner
  np.testing.assert_allclose(out[0, 4, 4], _conv_at(full, kernel, bias), rtol=1e-4, atol=1e-3)
  np.testing.assert_allclose(out[0, 0, 0], _conv_at(corner, kernel, bias), rtol=1e-4, atol=1e-3)
  # the other channel order gives a clearly different response
  swapped = _conv_at(np.broadcast_to(pixel[::-1], (3, 3, 3)), kernel, bias)
  assert np.abs(out[0, 4, 4] - swapped).max() > 0.1 * np.abs(swapped).max()


def test_caffe_preprocessing_is_bgr():
  x = jnp.asarray([[[1.0, 0.0, 0.0]]])  # pure red
  np.testing.assert_allclose(
    preprocess(x, 'caffe')[0, 0], [-103.939, -116.779, 255.0 - 123.68], rtol=1e-6
  )
  np.testing.assert_allclose(
    preprocess(x, 'torchvision')[0, 0],
    [(1 - 0.485) / 0.229, -0.456 / 0.224, -0.406 / 0.225],
    rtol=1e-6,
  )


@pytest.mark.parametrize('pooling', ['max', 'avg'])
def test_block_structure_and_pooling(pooling):
  module, variables = load_vgg('vgg19', last_layer='relu2_1', pooling=pooling)
  x = jax.random.uniform(jax.random.key(1), (1, 16, 16, 3))
  out = module.apply(variables, x)
  blocks = np.asarray(out['relu1_2']).reshape(1, 8, 2, 8, 2, 64)
  pooled = blocks.max((2, 4)) if pooling == 'max' else blocks.mean((2, 4))
  conv = variables['params']['conv2_1']
  want = (
    jax.lax.conv_general_dilated(
      jnp.asarray(pooled),
      conv['kernel'],
      (1, 1),
      ((1, 1), (1, 1)),
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
    )
    + conv['bias']
  )
  np.testing.assert_allclose(out['relu2_1'], jax.nn.relu(want), rtol=1e-4, atol=1e-3)


def test_bfloat16_compute():
  module, variables = _pretrained('vgg16', 'relu2_1')
  x = jax.random.uniform(jax.random.key(2), (1, 16, 16, 3))
  ref = module.apply(variables, x)['relu2_1']
  low = module.copy(dtype=jnp.bfloat16).apply(variables, x)['relu2_1']
  assert low.dtype == jnp.bfloat16
  assert float(jnp.abs(low.astype(jnp.float32) - ref).max()) < 0.05 * float(jnp.abs(ref).max())


def _gram(features):
  n, h, w, c = features.shape
  flat = features.reshape(n, h * w, c)
  return jnp.einsum('nkc,nkd->ncd', flat, flat) / (h * w * c)


def _texture_crops(size=96):
  """Two non-overlapping crops (same column, top / bottom) of each texture."""
  crops = []
  for name in TEXTURES:
    image = getattr(data, name)().astype(np.float32) / 255.0
    crops += [image[96 : 96 + size, 208 : 208 + size], image[320 : 320 + size, 208 : 208 + size]]
  return np.repeat(np.stack(crops)[..., None], 3, axis=-1)


def _gram_distances(module, variables, images):
  """Mean over GRAM_LAYERS of the relative squared Gram distance, all pairs."""
  features = jax.jit(module.apply)(variables, images)
  dist = 0.0
  for layer in GRAM_LAYERS:
    g = np.asarray(_gram(features[layer]), np.float64).reshape(len(images), -1)
    dots = g @ g.T
    sq = np.diag(dots)
    dist += (sq[:, None] + sq[None] - 2 * dots) / (0.5 * (sq[:, None] + sq[None]))
  return dist / len(GRAM_LAYERS)


def _same_vs_different(dist):
  same = [dist[2 * i, 2 * i + 1] for i in range(len(TEXTURES))]
  different = [dist[i, j] for i in range(len(dist)) for j in range(len(dist)) if i // 2 != j // 2]
  return max(same), min(different)


@pytest.mark.parametrize('arch', ['vgg16', 'vgg19'])
def test_gram_distance_separates_real_textures(arch):
  module, variables = _pretrained(arch, 'relu4_1')
  images = _texture_crops()
  same, different = _same_vs_different(_gram_distances(module, variables, images))
  assert same < 0.5 * different, (same, different)

  # control: randomly initialised weights do clearly worse on the same crops
  random_vars = jax.jit(module.init)(jax.random.key(0), images[:1])
  r_same, r_different = _same_vs_different(_gram_distances(module, random_vars, images))
  assert r_same / r_different > 1.5 * same / different


def test_gradient_through_loss_network():
  module, variables = _pretrained('vgg19', 'relu4_1')
  target = _gram(module.apply(variables, jnp.full((1, 32, 32, 3), 0.5))['relu2_1'])

  def style_loss(image):
    return jnp.sum((_gram(module.apply(variables, image)['relu2_1']) - target) ** 2)

  grad = jax.jit(jax.grad(style_loss))(jax.random.uniform(jax.random.key(3), (1, 32, 32, 3)))
  assert grad.shape == (1, 32, 32, 3)
  assert bool(jnp.all(jnp.isfinite(grad))) and float(jnp.abs(grad).max()) > 0
