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

"""Inference speed: latency per image at several sizes, throughput over batches of signals.

  python benchmarks/inference_benchmark.py --config default --out results.json
  python benchmarks/inference_benchmark.py --model runs/default --sizes 256,512,1024
  python benchmarks/inference_benchmark.py --config default --large 3000x2000

Times the compiled `transform` (TNet, vmapped over the signals' DIN parameters) and
`encode` (VGG + PNet) of `zmnet_jax.infer.core` on whatever devices JAX finds; with --large, also
`Stylizer.stylize` on one large image through tiles, with downscaled and with exact
statistics. Every case runs
once untimed-for-speed (its time minus a steady call is `compile_s`), then `--repeats`
times; the median is reported. Prints a table, writes JSON with --out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

import jax
import jax.numpy as jnp
import numpy as np
import timing

from zmnet_jax import configs, infer, sharding
from zmnet_jax.infer import core
from zmnet_jax.models import model as model_lib, vgg_weights

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def int_list(text: str) -> list[int]:
  return [int(x) for x in text.split(',') if x]


def height_width(text: str) -> tuple[int, int]:
  try:
    height, width = (int(x) for x in text.lower().split('x'))
  except ValueError:
    raise argparse.ArgumentTypeError(f'expected HEIGHTxWIDTH, got {text!r}') from None
  return height, width


def parse_args(argv=None) -> argparse.Namespace:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  source = p.add_mutually_exclusive_group(required=True)
  source.add_argument('--model', help='training workdir or checkpoint folder')
  source.add_argument('--config', help='config file[:arg]: a freshly initialized model')
  p.add_argument(
    '--sizes',
    type=int_list,
    default=[256, 512, 1024],
    help='content sizes for the latency of one image with one signal',
  )
  p.add_argument(
    '--signals',
    type=int_list,
    default=[1, 8, 32],
    help='numbers of signals for the throughput cases',
  )
  p.add_argument('--throughput-size', type=int, default=256, help='content size there')
  p.add_argument('--contents', type=int, default=1, help='contents per throughput call')
  p.add_argument('--style-size', type=int, help='style size (default: config.eval)')
  p.add_argument(
    '--large',
    type=height_width,
    metavar='HxW',
    help='also time one image of this size through tiles (e.g. 3000x2000)',
  )
  p.add_argument('--tile-size', type=int, default=1024, help='tile size for --large')
  p.add_argument('--repeats', type=int, default=10, help='timed calls per case')
  p.add_argument('--dtype', help='compute dtype override (float32, bfloat16)')
  p.add_argument('--out', help='write the results as JSON here')
  return p.parse_args(argv)


def fresh_stylizer(spec: str, dtype: str | None):
  """A Stylizer of a freshly initialized model of the config (weights are random)."""
  config = configs.load(spec)
  if dtype:
    config.dtype = dtype
  model, vgg_params = model_lib.build_model(config)
  batch = {k: jnp.zeros(s.shape, s.dtype) for k, s in model_lib.batch_shapes(config, 1).items()}
  params = jax.jit(model.init)(jax.random.PRNGKey(0), vgg_params, batch)
  return infer.Stylizer(model, params, vgg_params, config)


def time_calls(fn, repeats: int) -> dict:
  """compile_s (first call minus a steady one) and the median steady call in ms."""
  first, times = timing.steady_times(fn, repeats)
  median = statistics.median(times)
  return {
    'compile_s': max(first - median, 0.0),
    'ms_per_call': 1000 * median,
    'ms_min': 1000 * min(times),
  }


def case(
  stylizer, kind: str, size: int, signals: int, contents: int, repeats: int, style_size: int
) -> dict:
  """One timed case; 'transform' applies ready DIN parameters, 'encode' makes them."""
  rng = np.random.default_rng(0)
  styles = jnp.asarray(rng.uniform(size=(signals, style_size, style_size, 3)), jnp.float32)
  devices = jax.device_count()
  mesh = sharding.create_mesh([('data', -1)]) if devices > 1 and signals % devices == 0 else None
  fns = core.functions_for(stylizer.model, mesh)
  params, vgg_params = fns.replicate((stylizer.params, stylizer.vgg_params))
  styles = fns.split(styles)
  if kind == 'encode':
    result = time_calls(lambda: fns.encode(params, vgg_params, styles), repeats)
    images, size = signals, style_size
  else:
    din = fns.encode(params, vgg_params, styles)
    images_in = fns.replicate(jnp.asarray(rng.uniform(size=(contents, size, size, 3)), jnp.float32))
    result = time_calls(lambda: fns.transform(params, images_in, din), repeats)
    images = signals * contents
  ms = result['ms_per_call']
  return {
    'kind': kind,
    'size': size,
    'signals': signals,
    'contents': contents if kind == 'transform' else 0,
    'devices': devices if mesh is not None else 1,
    **result,
    'ms_per_image': ms / images,
    'images_per_s': 1000 * images / ms,
  }


def tiled_case(
  stylizer, height: int, width: int, exact: bool, tile_size: int, repeats: int, style_size: int
) -> dict:
  """One large image and one signal through `Stylizer.stylize`'s tiles (host included)."""
  rng = np.random.default_rng(0)
  din = stylizer.encode_images([rng.uniform(size=(style_size, style_size, 3))])
  content = rng.uniform(size=(1, height, width, 3)).astype(np.float32)
  result = time_calls(
    lambda: stylizer.stylize(content, din, tile_size=tile_size, exact_stats=exact), repeats
  )
  return {
    'kind': 'tiled_exact' if exact else 'tiled',
    'size': f'{height}x{width}',
    'signals': 1,
    'contents': 1,
    'devices': 1,
    **result,
    'ms_per_image': result['ms_per_call'],
    'images_per_s': 1000 / result['ms_per_call'],
  }


def cases(args, style_size: int) -> list[tuple[str, int, int, int]]:
  """(kind, size, signals, contents): encoding first (the transform cases encode their
  signals untimed, which would compile `encode` ahead of its own case), then latency,
  then throughput."""
  wanted = [('encode', style_size, s, 0) for s in args.signals]
  wanted += [('transform', size, 1, 1) for size in args.sizes]
  wanted += [('transform', args.throughput_size, s, args.contents) for s in args.signals]
  return list(dict.fromkeys(wanted))  # once each, in order


def print_table(rows) -> None:
  head = (
    'kind',
    'size',
    'signals',
    'contents',
    'devices',
    'compile_s',
    'ms_per_call',
    'ms_per_image',
    'images_per_s',
  )
  print(' '.join(f'{h:>12}' for h in head))
  for r in rows:
    print(' '.join(f'{r[h]:>12.4g}' if isinstance(r[h], float) else f'{r[h]:>12}' for h in head))


def main(argv=None) -> int:
  args = parse_args(argv)
  try:
    if args.model:
      stylizer = infer.Stylizer.load(args.model, dtype=args.dtype)
    else:
      stylizer = fresh_stylizer(args.config, args.dtype)
  except (infer.InferenceError, vgg_weights.WeightsError, OSError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  if stylizer.signal_kind != 'image':
    print(
      f'error: the benchmark encodes style images; this model takes {stylizer.signal_kind} signals',
      file=sys.stderr,
    )
    return 1
  style_size = args.style_size or stylizer.config.eval.style_size
  rows = []
  for kind, size, signals, contents in cases(args, style_size):
    rows.append(case(stylizer, kind, size, signals, contents, args.repeats, style_size))
    print(f'{kind} {size}px x{signals}: {rows[-1]["ms_per_image"]:.2f} ms/image', file=sys.stderr)
  for exact in (False, True) if args.large else ():
    rows.append(
      tiled_case(stylizer, *args.large, exact, args.tile_size, min(args.repeats, 3), style_size)
    )
    print(
      f'{rows[-1]["kind"]} {rows[-1]["size"]}: {rows[-1]["ms_per_image"]:.0f} ms', file=sys.stderr
    )
  device = jax.devices()[0]
  results = {
    'device': {
      'platform': device.platform,
      'kind': device.device_kind,
      'count': jax.device_count(),
    },
    'model': {
      'source': os.path.abspath(args.model) if args.model else args.config,
      'trained': bool(args.model),
      'dtype': stylizer.config.dtype,
      'tnet': stylizer.config.model.tnet.to_dict(),
    },
    'repeats': args.repeats,
    'rows': rows,
  }
  print_table(rows)
  if args.out:
    with open(args.out, 'w') as f:
      json.dump(results, f, indent=2)
  return 0


if __name__ == '__main__':
  sys.exit(main())
