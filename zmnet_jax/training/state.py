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

"""The train state, the optimizer and its schedule, and a fresh state."""

from __future__ import annotations

from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax

from zmnet_jax.models import model as model_lib


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  opt_state: Any


def make_optimizer(optim: ml_collections.ConfigDict, num_steps: int):
  """(optax transformation, learning-rate schedule) from `config.optim`."""
  peak = optim.learning_rate
  warmup = min(optim.warmup_steps, max(num_steps - 1, 0))
  if optim.decay == 'cosine':
    schedule = optax.warmup_cosine_decay_schedule(
      0.0, peak, warmup, max(num_steps, warmup + 1), peak * optim.end_learning_rate_factor
    )
  elif optim.decay == 'constant':
    schedule = optax.join_schedules(
      [optax.linear_schedule(0.0, peak, warmup), optax.constant_schedule(peak)], [warmup]
    )
  else:
    raise ValueError(f"optim.decay must be 'cosine' or 'constant', got {optim.decay!r}")
  tx = optax.chain(
    optax.clip_by_global_norm(optim.grad_clip_norm) if optim.grad_clip_norm else optax.identity(),
    optax.adamw(schedule, b1=optim.b1, b2=optim.b2, eps=optim.eps, weight_decay=optim.weight_decay),
  )
  return tx, schedule


def init_train_state(model: model_lib.Model, tx, rng, vgg_params, batch_shapes) -> TrainState:
  """A fresh state; `batch_shapes` maps batch keys to ShapeDtypeStructs."""
  batch = {k: jnp.zeros(s.shape, s.dtype) for k, s in batch_shapes.items()}
  params = model.init(jax.random.split(rng)[0], vgg_params, batch)
  return TrainState(jnp.zeros((), jnp.int32), params, tx.init(params))
