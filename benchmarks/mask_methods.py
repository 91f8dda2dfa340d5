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

"""Spatial control, two ways, at a hard edge: blending the stylized outputs (what
`--mask` does: `zmnet_jax.infer.regions`) against blending the DIN parameters inside TNet
(each DIN layer's gamma/beta as a map: the mask resized to that layer's resolution).

  python benchmarks/mask_methods.py --out mask_methods.json --figure docs/mask_methods.png

One content (default: the first content/val photo at 512 px), two styles (held-out
paintings) and a mask whose left half takes the first style and right half the second.
For each method: how far each half lies from that style's output alone, away from the
edge (mean absolute difference, 0-1 pixels, beyond `--margin` px of the edge) and in the
band at the edge; the edge's own contrast (mean absolute horizontal step across it); the
median time. The figure: crops across the edge, the styles alone and both blends.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image
import timing

from zmnet_jax import infer
from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.infer import core, regions, tiling
from zmnet_jax.models import zmnet


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--data', default='../shared/data')
  p.add_argument('--size', type=int, default=512)
  p.add_argument('--margin', type=int, default=48, help='px from the edge that count as away')
  p.add_argument('--repeats', type=int, default=5)
  p.add_argument('--out', default=None, help='write the numbers as JSON')
  p.add_argument('--figure', default=None, help='write the crops across the edge (PNG)')
  return p.parse_args(argv)


def inputs(data: str, size: int):
  """(content [1, H, W, 3] float, two style images, their paths)."""
  content_path = image_files.list_images(os.path.join(data, 'content', 'val'))[0]
  styles = image_files.list_images(os.path.join(data, 'style', 'val'))
  paths = [styles[0], styles[len(styles) // 2]]
  content = image_arrays.resize_short_side(image_files.load_image(content_path), size)
  content = tiling.pad_to_stride(image_arrays.to_float(content)[None])[0]
  return content, [image_files.load_image(p) for p in paths], [content_path, *paths]


def din_maps(stylizer, content, din, weights):
  """Each DIN layer's gamma/beta as maps [1, h, w, C]: the K signals' parameters blended
  by `weights` [K, H, W] resized to the layer's resolution."""
  first = jax.tree.map(lambda x: x[0], din)
  _, sown = core.apply_tnet(
    stylizer.model, stylizer.params, content, first, mutable=[zmnet.PRENORM_COLLECTION]
  )
  shapes = {k[: -len('_input')]: v.shape for k, v in sown[zmnet.PRENORM_COLLECTION].items()}
  maps = {}
  for name, (gamma, beta) in din.items():
    _, h, w, _ = shapes[name]
    small = jax.image.resize(jnp.asarray(weights), (weights.shape[0], h, w), 'linear')
    small = small / jnp.sum(small, axis=0, keepdims=True)
    blend = lambda p, small=small: jnp.einsum('khw,kc->hwc', small, p.astype(jnp.float32))
    maps[name] = (blend(gamma), blend(beta))
  return maps


def methods(stylizer, content, din, weights):
  """{method: function returning [H, W, 3]}, each compiled on its first call."""
  maps = din_maps(stylizer, content, din, weights)
  tnet = jax.jit(lambda c, m: core.apply_tnet(stylizer.model, stylizer.params, c, m))
  return {
    'outputs': lambda: regions.stylize_regions(stylizer, content, din, weights)[0],
    'din': lambda: np.asarray(tnet(content, maps))[0],
  }


def scores(image, alone, edge: int, margin: int) -> dict:
  """Distance of each half from its style alone (away from the edge, and at it)."""
  left, right = alone
  diff = np.abs(image - np.where(np.arange(image.shape[1])[None, :, None] < edge, left, right))
  away = np.r_[0 : edge - margin, edge + margin : image.shape[1]]
  near = np.r_[edge - margin : edge + margin]
  step = np.abs(image[:, edge] - image[:, edge - 1]).mean()
  return {
    'away_from_edge': float(diff[:, away].mean()),
    'near_edge': float(diff[:, near].mean()),
    'edge_step': float(step),
  }


def figure(path: str, content, alone, blended: dict, edge: int, margin: int) -> None:
  """Columns: content, first style alone, second alone, then each blend; crops 4 x margin
  wide centred on the edge."""
  crop = lambda x: x[:, edge - 2 * margin : edge + 2 * margin]
  tiles = [crop(content), *(crop(a) for a in alone), *(crop(b) for b in blended.values())]
  strip = np.concatenate(
    [np.pad(t, ((0, 0), (0, 6), (0, 0)), constant_values=1.0) for t in tiles], axis=1
  )
  image = Image.fromarray(image_files.to_uint8(strip, 'figure'))
  image.save(path, quality=90) if path.lower().endswith('.jpg') else image.save(path)


def main(argv=None) -> int:
  args = parse_args(argv)
  stylizer = infer.Stylizer.load('default')
  content, styles, paths = inputs(args.data, args.size)
  din = stylizer.encode_images(styles)
  height, width = content.shape[1:3]
  edge = width // 2
  weights = np.zeros((2, height, width), np.float32)
  weights[0, :, :edge], weights[1, :, edge:] = 1.0, 1.0
  alone = list(stylizer.stylize(content, din)[:, 0])
  rows, blended = {}, {}
  for name, fn in methods(stylizer, content, din, weights).items():
    blended[name] = np.asarray(fn())
    rows[name] = scores(blended[name], alone, edge, args.margin)
    rows[name]['ms'] = 1000 * timing.median_seconds(fn, args.repeats)
    print(f'{name:8} ' + '  '.join(f'{k} {v:.4g}' for k, v in rows[name].items()))
  report = {'content': paths[0], 'styles': paths[1:], 'size': [height, width], 'methods': rows}
  if args.out:
    with open(args.out, 'w') as f:
      json.dump(report, f, indent=2)
  if args.figure:
    figure(args.figure, content[0], alone, blended, edge, args.margin)
  return 0


if __name__ == '__main__':
  sys.exit(main())
