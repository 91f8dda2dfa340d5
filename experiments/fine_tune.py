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

"""Claim 6: zero-shot quality is comparable to the same model fine-tuned on each style.

The zero-shot model is claim 3's largest subset short of 'all' (~2,000 styles); the styles
are training paintings outside that subset (style/val is never trained on). Each is
fine-tuned on alone (`init_from` the zero-shot model, the same extra steps per style),
and both are scored by the val512 protocol on that style x as many of the protocol's
held-out contents as it has pairs, paired (fine-tuned - zero-shot).
"""

from __future__ import annotations

import os

import numpy as np

from experiments import runs, style_count


def zero_shot_count(setting: runs.Setting) -> int:
  return max(c for c in setting.scale.style_counts if c)


def one_style(setting: runs.Setting, index: int, path: str) -> dict:
  """Zero-shot against fine-tuned on the style at `path`."""
  count = zero_shot_count(setting)
  base = style_count.trained(setting, count)
  folder = os.path.join(setting.out, 'styles', f'finetune_{index}')
  if not os.path.isdir(folder):
    runs.link_folder(folder, [path])
  # The protocol gives each style 2 contents: the style linked pairs / 2 times scores it
  # on `pairs` different held-out contents.
  scored = os.path.join(setting.out, 'styles', f'finetune_{index}_scored')
  if not os.path.isdir(scored):
    runs.link_folder(scored, [path] * max(setting.scale.pairs // 2, 1))
  tuned = runs.train(
    setting,
    f'finetune_{index}',
    setting.scale.finetune_steps,
    f'--config.init_from={base.model}',
    f'--config.data.style_dir={folder}',
  )
  zero = runs.protocol(setting, base.model, f'zero_shot_{index}', styles=scored)
  fine = runs.protocol(setting, tuned.model, f'finetune_{index}', styles=scored)
  return {
    'style': os.path.relpath(path, setting.data),
    'zero_shot': runs.protocol_means(zero),
    'fine_tuned': runs.protocol_means(fine),
    'fine_tuned_minus_zero_shot': runs.compare(zero, fine),
    'fine_tune_cpu_minutes': round(tuned.cpu_seconds / 60, 1),
  }


def run(setting: runs.Setting) -> dict:
  count = zero_shot_count(setting)
  subset = runs.style_subset(setting, count)
  paths = runs.held_out_training_styles(setting, subset, setting.scale.finetune_styles)
  rows = [one_style(setting, i, p) for i, p in enumerate(paths)]
  mean = lambda key, score: float(np.mean([r[key][score] for r in rows]))
  return {
    'claim': 6,
    'zero_shot_training_styles': count,
    'fine_tune_steps': setting.scale.finetune_steps,
    'rows': rows,
    'mean': {
      k: {s: mean(k, s) for s in ('style_ratio', 'lpips')} for k in ('zero_shot', 'fine_tuned')
    },
  }
