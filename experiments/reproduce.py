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

"""Reproduce the ZM-Net paper's claims, one command per claim.

  python -m experiments.reproduce styles --scale cpu --out runs/reproduce
  python -m experiments.reproduce all --scale cpu --out runs/reproduce
  python -m experiments.reproduce all --scale full --plan      # the accelerator run's cost

Claims (Wang et al., 2017): 1 `speed` (real time), 2 `attributes` (unseen words from noon
and night), 3 `styles` (many training styles nearly halve the held-out loss), 4
`animation` (sweeping the signal), 5 `pnet` (serial better than parallel), 6 `finetune`
(zero-shot comparable to fine-tuned). `--scale cpu` runs here in minutes per run (64 px,
a slim TNet: a pointer, not the paper's number); `--scale full` is the paper-sized run for
an accelerator; `--scale test` is the smallest that runs every step. Each claim writes
OUT/claim<N>_<name>.json and its figures; runs already trained are reused, so a claim
stopped part way goes on where it was. The results and verdicts: docs/reproduction.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import dataclasses
import os
import sys
import time

from experiments import attributes, fine_tune, pnet_variant, realtime, runs, style_count

CLAIMS = {
  'speed': (1, realtime.speed),
  'attributes': (2, attributes.run),
  'styles': (3, style_count.run),
  'animation': (4, realtime.animation),
  'pnet': (5, pnet_variant.run),
  'finetune': (6, fine_tune.run),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  p = argparse.ArgumentParser(
    prog='python -m experiments.reproduce',
    description=__doc__.split('\n\n')[0],
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  p.add_argument('claims', nargs='+', choices=[*CLAIMS, 'all'])
  p.add_argument('--scale', choices=list(runs.SCALES), default='cpu')
  p.add_argument('--out', default='runs/reproduce', help='folder for runs, JSON and figures')
  p.add_argument('--data', default='../shared/data', help='the data root (see its README)')
  p.add_argument('--plan', action='store_true', help='print the runs and their cost only')
  args = p.parse_args(argv)
  if 'all' in args.claims:
    args.claims = list(CLAIMS)
  return args


def plan(scale: runs.Scale, claims: Sequence[str]) -> dict:
  """{claim: (training runs, training images)} and the hours at the scale's rate."""
  runs_and_steps = {
    'styles': [scale.steps] * len(scale.style_counts),
    'pnet': [scale.steps] * 2,
    'finetune': [scale.steps] + [scale.finetune_steps] * scale.finetune_styles,
    'attributes': [scale.attribute_steps],
  }
  rows = {}
  for claim in claims:
    steps = runs_and_steps.get(claim, [])
    images = scale.batch * sum(steps)
    hours = images / scale.images_per_second / 3600 if scale.images_per_second else None
    rows[claim] = {'training_runs': len(steps), 'training_images': images, 'hours': hours}
  return rows


def reproduce(args: argparse.Namespace) -> dict:
  """Runs each claim in turn; returns {claim: result}."""
  scale = runs.SCALES[args.scale]
  if not os.path.isdir(os.path.join(args.data, 'style', 'train')):
    raise SystemExit(f'error: {args.data}: no style/train folder (give the data root, --data)')
  setting = runs.Setting(scale, os.path.abspath(args.data), os.path.abspath(args.out))
  os.makedirs(setting.out, exist_ok=True)
  results = {}
  for claim in args.claims:
    number, run = CLAIMS[claim]
    print(f'claim {number} ({claim}), scale {args.scale}', file=sys.stderr, flush=True)
    start = time.time()
    result = run(setting)
    result.update(scale=args.scale, scale_settings=dataclasses.asdict(scale))
    result['seconds'] = round(time.time() - start, 1)
    runs.write_json(os.path.join(setting.out, f'claim{number}_{claim}.json'), result)
    results[claim] = result
  return results


def main(argv: Sequence[str] | None = None) -> int:
  args = parse_args(argv)
  costs = plan(runs.SCALES[args.scale], args.claims)
  for claim, row in costs.items():
    rate = runs.SCALES[args.scale].images_per_second
    hours = f', at least {row["hours"]:.2f} h at {rate:,.0f} img/s' if row['hours'] else ''
    print(
      f'{claim}: {row["training_runs"]} training run(s), {row["training_images"]:,} images{hours}'
    )
  if args.plan:
    return 0
  for claim, result in reproduce(args).items():
    print(f'{claim}: done in {result["seconds"]:.0f} s -> {args.out}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
