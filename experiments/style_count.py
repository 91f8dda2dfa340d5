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

"""Claim 3: one model handles 20,000+ styles, and training on many styles instead of a few
"nearly halves the test loss" on held-out styles.

The same model and step budget trained on ~20, ~200, ~2,000 and all ~8,900 training
styles; for each, the training loss terms on held-out style/val x content/val and on its
own training styles (the gap), and the val512 protocol's style ratio.
"""

from __future__ import annotations

import os

from experiments import figures, runs


def run_name(count: int) -> str:
  return f'styles_{count or "all"}'


def trained(setting: runs.Setting, count: int) -> runs.Trained:
  """The claim's model for `count` training styles (0: all); claims 5 and 6 reuse them."""
  styles = runs.style_subset(setting, count)
  return runs.train(
    setting, run_name(count), setting.scale.steps, f'--config.data.style_dir={styles}'
  )


def perceptual(metrics: dict) -> dict:
  """The loss terms of a grid's means: content, style (Gram) and their sum."""
  content, style = metrics['content_loss'], metrics['style_loss_gram']
  return {'content': content, 'style': style, 'total': content + style}


def row(setting: runs.Setting, count: int) -> dict:
  model = trained(setting, count)
  styles = runs.style_subset(setting, count)
  grid = runs.grid(setting, model.model, run_name(count), train_styles=styles)
  held_out = perceptual(grid['metrics'])
  seen = perceptual(grid['train_styles']['metrics'])
  means = runs.protocol_means(runs.protocol(setting, model.model, run_name(count)))
  return {
    'training_styles': runs.count_images(styles),
    'held_out_loss': held_out,
    'training_styles_loss': seen,
    'gap': held_out['total'] - seen['total'],
    'style_ratio': means['style_ratio'],
    'lpips': means['lpips'],
    'cpu_minutes': round(model.cpu_seconds / 60, 1),
  }


def run(setting: runs.Setting) -> dict:
  rows = [row(setting, count) for count in setting.scale.style_counts]
  first, last = rows[0]['held_out_loss']['total'], rows[-1]['held_out_loss']['total']
  figure = os.path.join(setting.out, 'style_count.png')
  figures.style_count(rows, figure)
  return {
    'claim': 3,
    'rows': rows,
    'held_out_loss_ratio_most_to_fewest': last / first,
    'figure': figure,
  }
