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

"""Metrics to `metrics.jsonl` (one JSON object per logged step) and TensorBoard events."""

from __future__ import annotations

from collections.abc import Mapping
import json
import math
import os

from zmnet_jax import files


def trim_records(path: str, last_step: int) -> int:
  """Drops the records of steps after `last_step` from a metrics.jsonl (and a line cut off
  by a crash); returns how many were dropped."""
  if not os.path.exists(path):
    return 0
  with open(path) as f:
    lines = f.readlines()
  kept = []
  for line in lines:
    try:
      if json.loads(line)['step'] <= last_step:
        kept.append(line if line.endswith('\n') else line + '\n')
    except (ValueError, KeyError, TypeError):
      continue
  if len(kept) != len(lines):
    files.write_bytes(path, ''.join(kept).encode('utf-8'))
  return len(lines) - len(kept)


def format_duration(seconds: float) -> str:
  if not math.isfinite(seconds):
    return '?'
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  return f'{hours}h{minutes:02d}m' if hours else f'{minutes}m{secs:02d}s'


class MetricsWriter:
  """Appends metrics; only the writing host (process 0) touches files.

  A run resumed at `resume_step` first drops what an earlier attempt logged after that
  step (it is about to be replayed): from `metrics.jsonl`, rewritten atomically, and from
  TensorBoard, through a new event file whose purge step hides the old events. So each
  step is logged once, in order.
  """

  def __init__(self, workdir: str, enabled: bool = True, resume_step: int = 0):
    self.jsonl_path = os.path.join(workdir, 'metrics.jsonl')
    self.enabled = enabled
    self._tb = None
    if enabled:
      from tensorboardX import SummaryWriter

      trim_records(self.jsonl_path, resume_step)
      self._tb = SummaryWriter(os.path.join(workdir, 'tensorboard'), purge_step=resume_step + 1)

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    if not self.enabled:
      return
    record = {'step': int(step)}
    record.update({k: float(v) for k, v in scalars.items()})
    with open(self.jsonl_path, 'a') as f:
      f.write(json.dumps(record) + '\n')
    for key, value in scalars.items():
      self._tb.add_scalar(key, float(value), int(step))
    self._tb.flush()

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()
      self._tb = None
