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

"""Training speed: images/s of the compiled train step, and what a VGG-target cache saves.

  python benchmarks/train_throughput.py --config release_cpu
  python benchmarks/train_throughput.py --config release_cpu \\
      --variant batch=4 --variant batch=16 --variant size=96 --variant size=160 \\
      --variant tnet=32,64,128x5 --out train_speed.json

Each variant runs the real `train_step` of `zmnet_jax.training.trainer` (fresh params,
synthetic batches, so no data is read) and, apart, the part of it that does not depend on
the params: the VGG forward pass over the content and style batches, which gives the loss
targets and PNet's input. `targets_share` is that part's fraction of a step: the most that
caching VGG activations per training crop could save. Medians of `--repeats` steps after
one warm-up step.
"""

from __future__ import annotations

import argparse
import json
import sys

import jax
import timing

from zmnet_jax import configs, sharding
from zmnet_jax.models import model as model_lib
from zmnet_jax.training import state as state_lib, trainer


def parse_variant(text: str) -> dict:
  """'batch=4', 'size=96', 'tnet=16,32,64x3' -> overrides."""
  key, _, value = text.partition('=')
  if key == 'batch':
    return {'batch': int(value)}
  if key == 'size':
    return {'size': int(value)}
  if key == 'tnet':
    channels, _, blocks = value.partition('x')
    return {'channels': tuple(int(c) for c in channels.split(',')), 'blocks': int(blocks)}
  raise argparse.ArgumentTypeError(f'--variant: expected batch=N, size=N or tnet=C,C,CxB: {text}')


def variant_config(base: str, overrides: dict):
  config = configs.load(base)
  if 'batch' in overrides:
    config.train.batch_size = overrides['batch']
  if 'size' in overrides:
    config.data.content_size = config.data.style_size = overrides['size']
  if 'channels' in overrides:
    config.model.tnet.channels = overrides['channels']
    config.model.tnet.num_residual_blocks = overrides['blocks']
  return config


def measure(config, repeats: int) -> dict:
  """Seconds per train step and per VGG-target pass of one config."""
  mesh = sharding.create_mesh(config.mesh)
  batch = config.train.batch_size
  model, vgg_params = model_lib.build_model(config)
  tx, schedule = state_lib.make_optimizer(config.optim, 1000)
  shapes = model_lib.batch_shapes(config, batch)
  state, shardings = trainer.create_sharded_state(model, tx, config, vgg_params, shapes, mesh)
  step = trainer.compile_train_step(model, tx, schedule, mesh, shardings, shapes)
  keys = jax.random.split(jax.random.PRNGKey(0), len(shapes))
  data = {
    k: jax.random.uniform(r, s.shape, s.dtype)
    for r, (k, s) in zip(keys, shapes.items(), strict=True)
  }

  holder = {'state': state}

  def one_step():
    holder['state'], metrics = step(holder['state'], data, vgg_params)
    return metrics['loss']

  targets = jax.jit(lambda v, b: model.batch_features(v, b))
  step_s = timing.median_seconds(one_step, repeats)
  targets_s = timing.median_seconds(lambda: targets(vgg_params, data), repeats)
  return {
    'batch': batch,
    'size': config.data.content_size,
    'tnet': f'{tuple(config.model.tnet.channels)}x{config.model.tnet.num_residual_blocks}',
    'step_ms': round(1000 * step_s, 1),
    'images_per_s': round(batch / step_s, 2),
    'targets_ms': round(1000 * targets_s, 1),
    'targets_share': round(targets_s / step_s, 3),
  }


def parse_args(argv=None) -> argparse.Namespace:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument('--config', default='release_cpu', help='config name or file[:arg]')
  p.add_argument(
    '--variant',
    action='append',
    type=parse_variant,
    default=[],
    help='batch=N, size=N or tnet=C,C,CxB (repeatable; the base config always runs)',
  )
  p.add_argument('--repeats', type=int, default=5, help='timed steps per variant')
  p.add_argument('--out', help='write the results as JSON here')
  return p.parse_args(argv)


def main(argv=None) -> None:
  args = parse_args(argv)
  rows = []
  for overrides in [{}] + args.variant:
    print(f'measuring {overrides or "base"} ...', file=sys.stderr, flush=True)
    rows.append(measure(variant_config(args.config, overrides), args.repeats))
  header = list(rows[0])
  print(' | '.join(header))
  for row in rows:
    print(' | '.join(str(row[k]) for k in header))
  if args.out:
    with open(args.out, 'w') as f:
      json.dump({'device': str(jax.devices()[0]), 'config': args.config, 'rows': rows}, f, indent=2)


if __name__ == '__main__':
  main()
