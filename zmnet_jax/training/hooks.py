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

"""The periodic work of a training run, as clu's periodic actions: each hook runs every
`every` steps, and at the ends it names (the schedule's last step, a stop request, the
time budget). The loop in `trainer` runs the due ones after each step."""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
from typing import Any

# The ends of a run that a hook can also run at.
LAST, STOP, BUDGET = 'last', 'stop', 'budget'


@dataclasses.dataclass(frozen=True)
class StepInfo:
  """What the loop knows after a step: the hooks' input."""

  step: int
  metrics: dict  # this step's metrics (device arrays)
  ends: frozenset[str]  # which of LAST, STOP, BUDGET this step is


@dataclasses.dataclass(frozen=True)
class Hook:
  """`action(run, info)` every `every` steps (0: not periodically), and at `ends`."""

  name: str
  every: int
  action: Callable[[Any, StepInfo], None]
  ends: frozenset[str] = frozenset()
  not_last: bool = False  # skipped on the last step (the run's end does it its own way)

  def due(self, info: StepInfo) -> bool:
    if self.not_last and LAST in info.ends:
      return False
    periodic = bool(self.every) and info.step % self.every == 0
    return periodic or bool(self.ends & info.ends)


def training_hooks(train_config, actions: dict[str, Callable]) -> list[Hook]:
  """The run's hooks in the order they run: log, checkpoint, sample, evaluate.
  `actions` maps those names to `action(run, info)`."""
  sampling = train_config.sample_every
  return [
    Hook('log', train_config.log_every, actions['log'], frozenset({LAST, BUDGET})),
    Hook(
      'checkpoint',
      train_config.checkpoint_every,
      actions['checkpoint'],
      frozenset({LAST, STOP, BUDGET}),
    ),
    Hook('sample', sampling, actions['sample'], frozenset({LAST}) if sampling else frozenset()),
    Hook('evaluate', train_config.eval_every, actions['evaluate'], not_last=True),
  ]
