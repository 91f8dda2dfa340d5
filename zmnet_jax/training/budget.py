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

"""How long a run trains: the learning-rate schedule's length and a wall-clock budget.

Without a budget the schedule is `train.num_steps` long. With `train.max_seconds` (the
seconds of the training loop, counted from the first step, compilation included; setup
before it and the final evaluation after it are not counted), the run times
`MEASURE_STEPS` steps after compilation, fixes the schedule's length to the
steps that fit in what is left of the budget (at most `num_steps`), and stops, saves and
exports when the budget is spent. The fixed length is saved with every checkpoint, so a
resume keeps the schedule (and a later budget only limits how far it gets).
"""

from __future__ import annotations

import dataclasses
import logging
import time

log = logging.getLogger(__name__)

MEASURE_FROM = 2  # steps after the start that are not timed (compilation, first batches)
MEASURE_STEPS = 10


@dataclasses.dataclass
class Budget:
  """The schedule length and, with a budget, when to stop."""

  schedule_steps: int  # the schedule's length; the run ends there at the latest
  fixed: bool  # whether schedule_steps was fixed from a measured step time
  max_seconds: float = 0.0  # 0: no budget
  deadline: float | None = None  # time.time() to stop at (set by `start`); None: none
  _loop_start: float | None = None
  _compile_seconds: float = 0.0  # the first compilation's time: what a recompilation costs
  _measure_start: float | None = None

  @classmethod
  def create(cls, train_config, restored_run: dict) -> Budget:
    """From `config.train` and the `run` dict of the checkpoint resumed from."""
    max_seconds = float(train_config.get('max_seconds', 0) or 0)
    if max_seconds < 0:
      raise ValueError(f'train.max_seconds must be >= 0, got {max_seconds:g}')
    if restored_run.get('fixed'):  # a budget fixed it: keep it (else num_steps may change)
      return cls(int(restored_run['schedule_steps']), True, max_seconds=max_seconds)
    return cls(int(train_config.num_steps), False, max_seconds=max_seconds)

  def run_info(self) -> dict:
    """What a checkpoint keeps for a resume."""
    return {'schedule_steps': self.schedule_steps, 'fixed': self.fixed}

  def expired(self) -> bool:
    return self.deadline is not None and time.time() >= self.deadline

  def start(self) -> None:
    """Call just before the first step is compiled: the budget's clock starts."""
    self._loop_start = time.time()
    if self.max_seconds:
      self.deadline = self._loop_start + self.max_seconds

  def compiled(self) -> None:
    """Call once the first step is compiled: the time since `start` is what the
    recompilation for a fixed schedule will cost, and is kept out of its steps."""
    self._compile_seconds = time.time() - self._loop_start

  def measure(self, step: int, start_step: int) -> int | None:
    """Call after every step; returns the new schedule length once it is fixed (the
    caller recompiles the step for it, which the remaining time allows for)."""
    if self.deadline is None or self.fixed:
      return None
    if step == start_step + MEASURE_FROM:
      self._measure_start = time.time()
    elif self._measure_start is not None and step == start_step + MEASURE_FROM + MEASURE_STEPS:
      seconds_per_step = (time.time() - self._measure_start) / MEASURE_STEPS
      left = self.deadline - time.time() - self._compile_seconds
      fits = int(max(left, 0.0) / seconds_per_step)
      self.schedule_steps = max(step + 1, min(self.schedule_steps, step + fits))
      self.fixed = True
      log.info(
        'time budget: %.3g s/step, %d more steps fit; the schedule ends at step %d',
        seconds_per_step,
        fits,
        self.schedule_steps,
      )
      return self.schedule_steps
    return None
