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

"""What the style's encoding size costs and buys: encode time vs held-out quality.

  python benchmarks/style_encoding.py --sizes 96,128,192,256 --out style_encoding.json

Style encoding (VGG19 to relu4_1 + PNet) is the expensive half of a one-image
stylization; its cost grows with the style's pixels. For each encoding size, the held-out
styles are encoded with their short side at that size, applied to the held-out contents,
and scored against the same styles at `--score-size` (so every row is judged by one
yardstick): style ratio (lower is more stylized), LPIPS and SSIM to the content. The encode
time is the median of one style at that size.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys

import jax
import numpy as np
import timing

from zmnet_jax import infer
from zmnet_jax.data import eval_sets, image_arrays
from zmnet_jax.evaluation import metrics

SHARED = '../shared/data'


def parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--model', default=None, help='model (default: the shipped one)')
  parser.add_argument('--sizes', default='96,128,192,256')
  parser.add_argument('--contents', default=f'{SHARED}/content/val')
  parser.add_argument('--styles', default=f'{SHARED}/style/val')
  parser.add_argument('--limit-contents', type=int, default=4)
  parser.add_argument('--limit-styles', type=int, default=24)
  parser.add_argument('--size', type=int, default=256, help='content side')
  parser.add_argument('--score-size', type=int, default=256, help='style side for scoring')
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--out', default=None, help='write the rows as JSON')
  return parser.parse_args(argv)


def encode_seconds(stylizer, style: np.ndarray, repeats: int) -> float:
  """Median wall time of one compiled encoding of `style` (as the encoder reads it)."""
  inputs = stylizer.signal_input(style, min(style.shape[:2]))
  return timing.median_seconds(lambda: stylizer.encode_inputs(inputs), repeats)


def pair_scores(lpips_params, ratio_params, outputs, contents, styles):
  """Style ratio, LPIPS and SSIM (to the content) of outputs [S, B, H, W, 3]: each [S, B]."""
  ratio = metrics.style_ratio_grid(ratio_params, outputs, contents, styles)
  lpips = metrics.lpips_from_features(
    lpips_params,
    metrics.lpips_features(lpips_params, outputs),
    metrics.lpips_features(lpips_params, contents),
  )
  return ratio, lpips, metrics.ssim(outputs, contents[None])


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  stylizer = infer.Stylizer.load(args.model)
  _, contents = eval_sets.load_eval_images(args.contents, args.size, args.limit_contents)
  _, styles = eval_sets.load_eval_images(args.styles, args.score_size, args.limit_styles)
  lpips_params, ratio_params = metrics.load_lpips(), metrics.load_style_ratio()
  scores = jax.jit(functools.partial(pair_scores, lpips_params, ratio_params))
  rows = []
  for size in (int(s) for s in args.sizes.split(',')):
    resized = [image_arrays.resize_short_side(s, size) for s in styles]
    din = stylizer.encode_images(resized, size)
    outputs = stylizer.stylize(contents, din)
    ratio, lpips, ssim = scores(outputs, contents, styles)
    row = {
      'style_size': size,
      'encode_ms': 1000 * encode_seconds(stylizer, resized[0], args.repeats),
      'style_ratio': float(np.mean(ratio)),
      'lpips': float(np.mean(lpips)),
      'ssim': float(np.mean(ssim)),
    }
    rows.append(row)
    print(
      f'style {size:4d} px: encode {row["encode_ms"]:6.1f} ms  ratio {row["style_ratio"]:.3f}  '
      f'LPIPS {row["lpips"]:.3f}  SSIM {row["ssim"]:.3f}',
      flush=True,
    )
  if args.out:
    with open(args.out, 'w') as f:
      json.dump({'model': args.model or 'default', 'rows': rows}, f, indent=2)
  return 0


if __name__ == '__main__':
  sys.exit(main())
