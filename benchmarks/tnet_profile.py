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

"""Where TNet's time goes: each stage alone, and the whole network, per image size.

  python benchmarks/tnet_profile.py                       # slim TNet, 256/512/1024 px
  python benchmarks/tnet_profile.py --channels 32,64,128 --blocks 5 --sizes 512
  python benchmarks/tnet_profile.py --plain               # the unoptimized layer forms

Every stage (each conv with its padding, each DIN + ReLU, the upsampling convs) is jitted
and timed alone on one image, with the layers TNet itself uses (`--plain`: the
`fast_padding=False` forms), then the whole TNet; medians of `--repeats` calls. GFLOP/s
counts the convolutions' multiply-adds x 2. The sum of the stages exceeds the whole when
XLA fuses across them.
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np
import timing

from zmnet_jax.models import convs, zmnet


def median_ms(fn, args, repeats: int) -> float:
  fn = jax.jit(fn)
  return 1000 * timing.median_seconds(lambda: fn(*args), repeats)


def conv_flops(height: int, width: int, kernel: int, cin: int, cout: int) -> float:
  return 2.0 * height * width * kernel * kernel * cin * cout


def stages(config: zmnet.TNetConfig, size: int):
  """(name, module, input shape, output-pixel FLOPs, repeats in TNet) of every stage."""
  c1, c2, c3 = config.channels
  fast = config.fast_padding
  quarter, half = size // 4, size // 2

  def conv(name, cin, cout, k, stride, hw):
    out = hw // stride
    module = convs.ReflectConv(cout, k, stride, fast)
    return (name, module, (1, hw, hw, cin), conv_flops(out, out, k, cin, cout))

  def up(name, cin, cout, hw):
    module = convs.UpsampleConv(cout) if fast else UpsampleThenConv(cout)
    return (name, module, (1, hw, hw, cin), conv_flops(2 * hw, 2 * hw, 3, cin, cout))

  blocks = config.num_residual_blocks
  return [
    (*conv('conv1 9x9', 3, c1, 9, 1, size), 1),
    (*din('din conv1', c1, size), 1),
    (*conv('conv2 3x3 /2', c1, c2, 3, 2, size), 1),
    (*din('din conv2', c2, half), 1),
    (*conv('conv3 3x3 /2', c2, c3, 3, 2, half), 1),
    (*din('din conv3', c3, quarter), 1),
    (*conv('residual conv 3x3', c3, c3, 3, 1, quarter), 2 * blocks),
    (*din('din residual', c3, quarter), 2 * blocks),
    (*up('up1 x2 + 3x3', c3, c2, quarter), 1),
    (*din('din up1', c2, half), 1),
    (*up('up2 x2 + 3x3', c2, c1, half), 1),
    (*din('din up2', c1, size), 1),
    (*conv('conv_out 9x9', c1, 3, 9, 1, size), 1),
  ]


class UpsampleThenConv(zmnet.nn.Module):
  """The plain form of `convs.UpsampleConv`: upsample, then a reflect-padded conv."""

  features: int

  @zmnet.nn.compact
  def __call__(self, x):
    return convs.ReflectConv(self.features, 3, fast=False, name='conv')(
      convs.upsample_nearest(x, 2)
    )


class DinRelu(zmnet.nn.Module):
  @zmnet.nn.compact
  def __call__(self, x):
    ones = jnp.ones((x.shape[0], x.shape[-1]))
    return jax.nn.relu(zmnet.dynamic_instance_norm(x, ones, 0 * ones))


def din(name, channels, hw):
  return (name, DinRelu(), (1, hw, hw, channels), 0.0)


def profile(config: zmnet.TNetConfig, size: int, repeats: int) -> dict:
  rows, total_flops = [], 0.0
  rng = np.random.default_rng(0)
  for name, module, shape, flops, count in stages(config, size):
    x = jnp.asarray(rng.standard_normal(shape, dtype=np.float32))
    params = module.init(jax.random.PRNGKey(0), x)
    ms = median_ms(lambda p, x, m=module: m.apply(p, x), (params, x), repeats)
    rows.append(stage_row(name, ms, flops, count))
    total_flops += flops * count
  net = zmnet.TNet(config)
  image = jnp.asarray(rng.uniform(size=(1, size, size, 3)).astype(np.float32))
  din_params = {
    n: (jnp.ones((1, c)), jnp.zeros((1, c))) for n, c in zmnet.conditioned_layers(config)
  }
  params = net.init(jax.random.PRNGKey(0), image, din_params)
  whole = median_ms(lambda p, x, d: net.apply(p, x, d), (params, image, din_params), repeats)
  return {
    'size': size,
    'stages': rows,
    'sum_of_stages_ms': round(sum(r['ms'] * r['count'] for r in rows), 2),
    'tnet_ms': round(whole, 2),
    'tnet_gflop': round(total_flops / 1e9, 2),
    'tnet_gflop_per_s': round(total_flops / whole / 1e6, 1),
  }


def stage_row(name: str, ms: float, flops: float, count: int) -> dict:
  return {
    'stage': name,
    'ms': round(ms, 2),
    'count': count,
    'gflop_per_s': round(flops / ms / 1e6, 1) if flops else None,
  }


def print_profile(result: dict) -> None:
  print(f'\n{result["size"]} px')
  print(f'{"stage":24s} {"ms":>8s} {"x":>3s} {"GFLOP/s":>8s}')
  for row in result['stages']:
    rate = f'{row["gflop_per_s"]:8.1f}' if row['gflop_per_s'] else ' ' * 8
    print(f'{row["stage"]:24s} {row["ms"]:8.2f} {row["count"]:3d} {rate}')
  print(
    f'sum of stages {result["sum_of_stages_ms"]} ms; whole TNet {result["tnet_ms"]} ms, '
    f'{result["tnet_gflop"]} GFLOP, {result["tnet_gflop_per_s"]} GFLOP/s'
  )


def parse_args(argv=None) -> argparse.Namespace:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument('--channels', default='16,32,64', help='TNet channels (default: slim)')
  p.add_argument('--blocks', type=int, default=3, help='residual blocks (default 3)')
  p.add_argument('--sizes', default='256,512,1024', help='square image sizes')
  p.add_argument('--plain', action='store_true', help='the fast_padding=False layer forms')
  p.add_argument('--repeats', type=int, default=7)
  p.add_argument('--out', help='write the results as JSON here')
  return p.parse_args(argv)


def main(argv=None) -> None:
  args = parse_args(argv)
  config = zmnet.TNetConfig(
    tuple(int(c) for c in args.channels.split(',')), args.blocks, fast_padding=not args.plain
  )
  results = [profile(config, int(s), args.repeats) for s in args.sizes.split(',')]
  for result in results:
    print_profile(result)
  if args.out:
    with open(args.out, 'w') as f:
      json.dump(
        {'device': str(jax.devices()[0]), 'plain': args.plain, 'results': results}, f, indent=2
      )


if __name__ == '__main__':
  main()
