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

"""What training evaluates along the way: sample grids and the held-out report.

Image-signal models are scored on held-out styles x contents (`held_out`); word models on
their evaluation words against reference photos (`attributes`).
"""

from __future__ import annotations

import os

from zmnet_jax.data import eval_sets
from zmnet_jax.evaluation import attributes, held_out


class Evaluator:
  """Sample grids and held-out evaluation: styles x contents, or words x contents."""

  def __init__(self, model, vgg_params, config, datasets, vocab, workdir, mesh):
    self.model, self.vgg_params, self.config = model, vgg_params, config
    self.vocab, self.workdir, self.mesh = vocab, workdir, mesh
    if vocab is None:
      self.held_out = held_out.load_held_out(datasets, config)
    else:
      self.contents = eval_sets.load_eval_images(
        datasets.content_val, config.eval.image_size, limit=config.eval.num_contents
      )[1]

  def sample(self, params, step: int) -> None:
    path = os.path.join(self.workdir, 'samples', f'step_{step:07d}')
    if self.vocab is None:
      held_out.save_sample_grid(self.model, params, self.vgg_params, self.held_out, path + '.png')
    else:
      self._evaluate_words(params, step, path, log_table=False)

  def evaluate(self, params, step: int) -> dict[str, float]:
    """Writes eval.json and eval.png; returns scalars for the metrics log."""
    prefix = os.path.join(self.workdir, 'eval')
    if self.vocab is not None:
      report = self._evaluate_words(params, step, prefix)
      table = report['style_loss_vs_references']
      return {
        f'eval/{word}/{ref}': v
        for word, row in table.items()
        for ref, v in row.items()
        if isinstance(v, float)
      }
    report = held_out.evaluate_and_report(
      self.model,
      params,
      self.vgg_params,
      self.held_out,
      prefix,
      self.config.eval,
      step=step,
      mesh=self.mesh,
    )
    return {f'eval/{k}': v for k, v in report.items() if isinstance(v, float)}

  def _evaluate_words(self, params, step, prefix, log_table=True):
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    return attributes.evaluate_and_report(
      self.model,
      params,
      self.vgg_params,
      self.vocab,
      self.contents,
      self.config.signals,
      self.config.eval.image_size,
      prefix,
      step,
      log_table,
    )
