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

"""Is the input ever the bottleneck? The loader alone, timed at the start of every run.

`ReadAhead` reads the run's first batches before the step is compiled, so nothing else
runs beside the loader, and times them; the run then trains on exactly those batches, so
the probe costs no images and changes no order, and a checkpoint taken meanwhile stores
the position of the first batch not yet trained on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

# Below this many loader images per trained image the input may stall the step.
HEADROOM_WARNING = 1.5


@dataclasses.dataclass(frozen=True)
class LoaderRate:
  """The loader alone: images/s over all processes, measured on `batches` batches."""

  images_per_s: float
  batches: int
  workers: int

  def summary(self) -> str:
    return (
      f'input: the loader alone reads {self.images_per_s:.1f} img/s '
      f'({self.workers} Grain worker processes, timed on {self.batches} batches)'
    )

  def compare(self, step_images_per_s: float) -> tuple[int, str]:
    """(log level, line) setting the loader's rate beside the step's."""
    headroom = self.images_per_s / max(step_images_per_s, 1e-9)
    line = (
      f'input vs step: loader {self.images_per_s:.1f} img/s, training '
      f'{step_images_per_s:.1f} img/s: the loader is {headroom:.1f}x the step'
    )
    if headroom < HEADROOM_WARNING:
      return logging.WARNING, line + ' (the input may be the bottleneck: raise data.num_workers)'
    return logging.INFO, line


class ReadAhead:
  """The training input, with its first batches read (and timed) ahead of the run."""

  def __init__(self, train_input):
    self._input = train_input
    self._ahead: list[tuple[Any, dict]] = []  # (batch, input state before it)

  def probe(self, batches: int, process_count: int, workers: int) -> LoaderRate | None:
    """Reads 1 + `batches` batches and times the last `batches` (the first one waits for
    worker start-up); None when `batches` is 0."""
    if batches <= 0:
      return None
    self._read_one()
    start = time.perf_counter()
    for _ in range(batches):
      self._read_one()
    seconds = max(time.perf_counter() - start, 1e-9)
    images = sum(_batch_size(batch) for batch, _ in self._ahead[1:]) * process_count
    return LoaderRate(images / seconds, batches, workers)

  def _read_one(self) -> None:
    state = self._input.get_state()
    self._ahead.append((next(self._input), state))

  def __iter__(self) -> ReadAhead:
    return self

  def __next__(self):
    if self._ahead:
      return self._ahead.pop(0)[0]
    return next(self._input)

  def get_state(self) -> dict:
    """The position of the next batch to be trained on."""
    if self._ahead:
      return self._ahead[0][1]
    return self._input.get_state()

  def close(self) -> None:
    self._input.close()


def _batch_size(batch) -> int:
  return len(next(iter(batch.values())))
