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

"""Progress of long work: a tqdm bar on a terminal, a plain line now and then in a log.

A bar redraws itself with carriage returns, which a log file (nohup, a batch job) keeps as
one endless line, so tqdm is usually switched off there, and a 20-minute evaluation then
says nothing until it ends. `bar` gives the bar on a terminal and otherwise one line every
`every` seconds (and one at the end of work that took that long): ``val512: 120/240
outputs, 3.40 s/output, ~7 min left``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO

from tqdm import tqdm


def bar(
  total: int | None, unit: str, label: str, *, every: float | None = None, stream: IO | None = None
):
  """A context manager with `update(n)`: tqdm on a terminal, `LogLines` otherwise, every
  `every` seconds (default: $ZMNET_JAX_PROGRESS_SECONDS, else 30)."""
  stream = stream or sys.stderr
  if _is_terminal(stream):
    return tqdm(total=total, unit=unit, desc=label, file=stream)
  if every is None:
    every = float(os.environ.get('ZMNET_JAX_PROGRESS_SECONDS') or 30.0)
  return LogLines(total, unit, label, every, stream)


def quiet():
  """A bar that shows nothing (the caller asked for no progress)."""
  return tqdm(disable=True)


def _is_terminal(stream: IO) -> bool:
  try:
    return stream.isatty()
  except (AttributeError, ValueError):
    return False


class LogLines:
  """Progress as a plain line at most every `every` seconds, and a last one at the end."""

  def __init__(self, total: int | None, unit: str, label: str, every: float, stream: IO):
    self.total, self.unit, self.label, self.every, self.stream = total, unit, label, every, stream
    self.n = 0
    self._start = self._last = time.monotonic()

  def update(self, n: int = 1) -> None:
    self.n += n
    if time.monotonic() - self._last >= self.every:
      self._write()

  def close(self) -> None:
    """The last line, when the work was long enough to have shown progress at all."""
    if self.n and (self._last > self._start or time.monotonic() - self._start >= self.every):
      self._write()

  def __enter__(self) -> LogLines:
    return self

  def __exit__(self, exc_type, *exc_info) -> None:
    if exc_type is None:  # a failure prints its own one-line error, alone
      self.close()

  def _write(self) -> None:
    self._last = time.monotonic()
    elapsed = self._last - self._start
    line = f'{self.label}: {self.n:,}'
    if self.total:
      line += f'/{self.total:,}'
    line += f' {self.unit}s, {elapsed / max(self.n, 1):.2f} s/{self.unit}'
    if self.total and self.n < self.total:
      line += f', ~{_duration(elapsed / self.n * (self.total - self.n))} left'
    else:
      line += f', {_duration(elapsed)} in all'
    print(line, file=self.stream, flush=True)


def _duration(seconds: float) -> str:
  if seconds < 90:
    return f'{seconds:.0f} s'
  if seconds < 5400:
    return f'{seconds / 60:.0f} min'
  return f'{seconds / 3600:.1f} h'
