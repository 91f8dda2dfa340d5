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

"""Paired comparison of two protocol evaluations, and the ship rule.

  python -m zmnet_jax.evaluate --compare runs/eval_fast runs/eval_candidate

Both folders hold a `pairs.csv` of `zmnet-evaluate --protocol`; the pairs (content, style,
strength) they share are compared. For each score, the difference B - A of the means over
pairs with a 95% percentile bootstrap interval (10,000 resamplings of the pairs, the same
for every score): a difference is real when its interval excludes 0.

The ship rule (docs/quality.md): B replaces A when, at strength 1, B's style ratio is lower
(its interval below 0) and its LPIPS is no worse than A's by more than LPIPS_MARGIN (the
interval's upper end at most the margin), and the contact sheet agrees by eye.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses

import numpy as np

from zmnet_jax.data.image_files import DataError
from zmnet_jax.evaluation import protocol

LPIPS_MARGIN = 0.02
BOOTSTRAP_SAMPLES = 10_000
CONFIDENCE = 0.95


@dataclasses.dataclass(frozen=True)
class Interval:
  mean_a: float
  mean_b: float
  difference: float  # mean of B - A over the pairs
  low: float
  high: float

  @property
  def real(self) -> bool:
    """The interval excludes 0."""
    return self.low > 0 or self.high < 0


def paired_bootstrap(
  a: np.ndarray, b: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> Interval:
  """Mean difference b - a over pairs, with a CONFIDENCE percentile bootstrap interval."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  if a.shape != b.shape or a.ndim != 1 or not len(a):
    raise ValueError(
      f'paired scores must be two equal, non-empty vectors, got {a.shape}, {b.shape}'
    )
  diff = b - a
  index = np.random.default_rng(seed).integers(0, len(diff), size=(samples, len(diff)))
  means = diff[index].mean(axis=1)
  tail = 100 * (1 - CONFIDENCE) / 2
  low, high = np.percentile(means, [tail, 100 - tail])
  return Interval(float(a.mean()), float(b.mean()), float(diff.mean()), float(low), float(high))


def _key(row: dict) -> tuple:
  return row['content'], row['style'], round(float(row['strength']), 4)


def compare(rows_a: Sequence[dict], rows_b: Sequence[dict]) -> dict:
  """{strength ('1.00'): {'num_pairs': n, 'scores': {score: Interval}}} over shared pairs."""
  by_key = {_key(r): r for r in rows_b}
  shared = [(r, by_key[_key(r)]) for r in rows_a if _key(r) in by_key]
  if not shared:
    raise DataError('the two evaluations share no (content, style, strength) pair')
  report = {}
  for strength in sorted({_key(a)[2] for a, _ in shared}, reverse=True):
    chosen = [(a, b) for a, b in shared if _key(a)[2] == strength]
    report[f'{strength:.2f}'] = {
      'num_pairs': len(chosen),
      'scores': {
        name: paired_bootstrap([a[name] for a, _ in chosen], [b[name] for _, b in chosen])
        for name in protocol.SCORE_NAMES
      },
    }
  return report


def ship_verdict(report: dict) -> tuple[bool, str]:
  """(B passes the numeric part of the ship rule against A, why) at strength 1."""
  if '1.00' not in report:
    return False, 'no pairs at strength 1'
  scores = report['1.00']['scores']
  style, lpips = scores['style_ratio'], scores['lpips']
  if style.high >= 0:
    return (
      False,
      f'style ratio not lower (B - A {style.difference:+.3f}, interval high {style.high:+.3f})',
    )
  if lpips.high > LPIPS_MARGIN:
    return (
      False,
      f'LPIPS may be worse by more than {LPIPS_MARGIN} (interval high {lpips.high:+.3f})',
    )
  return True, (
    f'style ratio lower ({style.difference:+.3f}, [{style.low:+.3f}, {style.high:+.3f}]) at LPIPS '
    f'within {LPIPS_MARGIN} ({lpips.difference:+.3f}, [{lpips.low:+.3f}, {lpips.high:+.3f}])'
  )


def format_report(report: dict, names: tuple[str, str]) -> str:
  """A text table: per strength and score, A, B, B - A [95% interval], and which is better."""
  lines = []
  for strength, block in report.items():
    lines.append(f'strength {strength}, {block["num_pairs"]} pairs: A = {names[0]}, B = {names[1]}')
    lines.append(f'  {"score":28} {"A":>8} {"B":>8} {"B - A":>8}   95% interval      better')
    for name, iv in block['scores'].items():
      better = '-'
      if iv.real:
        lower_better = name in protocol.LOWER_IS_BETTER
        better = 'B' if (iv.difference < 0) == lower_better else 'A'
      if name == 'colour_distance_unstylized':
        better = ''
      lines.append(
        f'  {name:28} {iv.mean_a:8.4g} {iv.mean_b:8.4g} {iv.difference:+8.3g}   '
        f'[{iv.low:+.3g}, {iv.high:+.3g}]  {better}'
      )
  passed, why = ship_verdict(report)
  lines.append(
    f'ship rule (numbers only; check the contact sheet): B {"passes" if passed else "fails"}: {why}'
  )
  return '\n'.join(lines)
