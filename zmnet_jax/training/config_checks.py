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

"""The numeric settings of a training config, checked before any work (one line each).

A value out of range would otherwise run and do nothing (`train.num_steps=-5`), divide by
zero, or fail deep inside JAX. `check(config)` raises ConfigError naming the field.
"""

from __future__ import annotations

import math

import ml_collections


class ConfigError(ValueError):
  """A config value out of range; the message names the `config.` field."""


# field: (least, most); None is unbounded. Integers stay integers.
INTEGER_FIELDS = {
  'seed': (0, None),
  'train.num_steps': (1, None),
  'train.batch_size': (1, None),
  'train.log_every': (1, None),
  'train.checkpoint_every': (0, None),
  'train.keep_checkpoints': (1, None),
  'train.sample_every': (0, None),
  'train.eval_every': (0, None),
  'train.input_probe_batches': (0, 1000),
  'optim.warmup_steps': (0, None),
  'data.content_size': (16, None),
  'data.style_size': (16, None),
  'data.resize_short_side': (16, None),
  'data.style_resize_short_side': (16, None),
  'data.style_view_size': (0, None),
  'data.store_short_side': (16, None),
  'data.num_workers': (0, 256),
  'eval.num_contents': (1, None),
  'eval.num_styles': (1, None),
  'eval.image_size': (16, None),
  'eval.style_size': (16, None),
  'eval.batch_styles': (1, None),
  'model.tnet.num_residual_blocks': (0, None),
  'model.pnet.width': (1, None),
}
NUMBER_FIELDS = {
  'train.max_seconds': (0.0, None),
  'optim.learning_rate': (0.0, None),
  'optim.end_learning_rate_factor': (0.0, 1.0),
  'optim.b1': (0.0, 1.0),
  'optim.b2': (0.0, 1.0),
  'optim.eps': (0.0, None),
  'optim.weight_decay': (0.0, None),
  'optim.grad_clip_norm': (0.0, None),
  'loss.tv_weight': (0.0, None),
}


def value_at(config: ml_collections.ConfigDict, field: str):
  """The value of a dotted field, or None where the config lacks it."""
  node = config
  for key in field.split('.'):
    if not hasattr(node, 'keys') or key not in node:
      return None
    node = node[key]
  return node


def check_range(field: str, value, least, most, integer: bool) -> None:
  if integer and (isinstance(value, bool) or not isinstance(value, int)):
    raise ConfigError(f'config.{field}: must be an integer, got {value!r}')
  if not integer and (isinstance(value, bool) or not isinstance(value, (int, float))):
    raise ConfigError(f'config.{field}: must be a number, got {value!r}')
  if not math.isfinite(value):
    raise ConfigError(f'config.{field}: must be finite, got {value!r}')
  if (least is not None and value < least) or (most is not None and value > most):
    bounds = f'at least {least}' if most is None else f'in [{least}, {most}]'
    raise ConfigError(f'config.{field}: must be {bounds}, got {value!r}')


def check(config: ml_collections.ConfigDict) -> None:
  """ConfigError for the first out-of-range value (fields the config lacks are skipped)."""
  for fields, integer in ((INTEGER_FIELDS, True), (NUMBER_FIELDS, False)):
    for field, (least, most) in fields.items():
      value = value_at(config, field)
      if value is not None:
        check_range(field, value, least, most, integer)
  if not config.optim.learning_rate > 0:
    raise ConfigError(
      f'config.optim.learning_rate: must be positive, got {config.optim.learning_rate}'
    )
  for group in ('content_weights', 'style_weights'):
    for layer, weight in config.loss[group].items():
      check_range(f'loss.{group}.{layer}', weight, 0.0, None, integer=False)
  for i, channels in enumerate(config.model.tnet.channels):
    check_range(f'model.tnet.channels[{i}]', channels, 1, None, integer=True)
