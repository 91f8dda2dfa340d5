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

"""What `zmnet-stylize` writes: a plan of outputs (`Job`s), checked, then run in batches.

Outputs are `{content}__{signal}.png` in a folder, or one named file; existing ones are
skipped unless `--overwrite`; contents of one size are stylized together, with the
signals they need chunked alongside.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
import dataclasses
import os
from pathlib import Path

import numpy as np

from zmnet_jax import files, infer, progress
from zmnet_jax.cli.stylize_inputs import EncodedSignals, SignalSource, load_content, unique_stems
from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.infer import core, regions

FILE_SUFFIXES = ('.png', '.jpg', '.jpeg')


@dataclasses.dataclass
class Job:
  """One content and the outputs still to write for it: {signal index: path}."""

  path: str
  outputs: dict[int, str]
  shape: tuple[int, int] = (0, 0)


def plan(content_paths, signal_names, out: str, overwrite: bool):
  """(jobs with something to write, number of existing outputs skipped)."""
  stems = unique_stems(content_paths)
  suffix = Path(out).suffix.lower()
  if suffix in image_files.IMAGE_EXTENSIONS | {'.gif'} and suffix not in FILE_SUFFIXES:
    raise image_files.ImageError(
      f'{out}: unsupported output format {suffix!r} (use {", ".join(FILE_SUFFIXES)}, or a folder)'
    )
  single = suffix in FILE_SUFFIXES and not os.path.isdir(out)
  total = len(stems) * len(signal_names)
  if single and total != 1:
    raise infer.InferenceError(
      f'{out}: names one file, but there are {total} outputs '
      f'({len(stems)} contents x {len(signal_names)} '
      f'signals); give a folder'
    )
  jobs, skipped = [], 0
  for path, stem in zip(content_paths, stems, strict=True):
    outputs = {}
    for i, name in enumerate(signal_names):
      target = out if single else os.path.join(out, f'{stem}__{name}.png')
      if os.path.exists(target) and not overwrite:
        skipped += 1
      else:
        outputs[i] = target
    if outputs:
      jobs.append(Job(path, outputs))
  return jobs, skipped


def check_contents(jobs: Sequence[Job], size: int | None, max_pixels: int) -> None:
  """Decodes every content that has outputs to write (fail before any work): sets shapes."""
  for job in jobs:
    job.shape = load_content(job.path, size, max_pixels).shape[:2]


def check_outputs(jobs: Sequence[Job], inputs: Sequence[str]) -> None:
  """Before any work: no output is an input (even with --overwrite), all are writable."""
  for job in jobs:
    for path in job.outputs.values():
      files.check_not_input(path, inputs)
  for folder in sorted(
    {os.path.dirname(os.path.abspath(p)) for j in jobs for p in j.outputs.values()}
  ):
    files.check_writable(folder, folder=True)


def batches(jobs: Sequence[Job], num_signals: int, per_call: int):
  """Contents of one size in groups, with the signals they need chunked alongside."""
  signals_per_call = min(num_signals, per_call)
  contents_per_call = max(1, per_call // signals_per_call)
  by_shape = collections.defaultdict(list)
  for job in jobs:
    by_shape[job.shape].append(job)
  for group in by_shape.values():
    for start in range(0, len(group), contents_per_call):
      chunk = group[start : start + contents_per_call]
      needed = sorted({i for job in chunk for i in job.outputs})
      for s in range(0, len(needed), signals_per_call):
        yield chunk, needed[s : s + signals_per_call], signals_per_call


def check_mask(jobs: Sequence[Job], source: SignalSource) -> None:
  """Before any work: the mask (if any) has every content's shape (`check_contents` first)."""
  if source.regions is not None:
    for job in jobs:
      regions.check_shape(source.regions.shape[1:], job.shape, source.mask, job.path)


def stylize_batch(stylizer, signals: EncodedSignals, chunk, index, width, args) -> np.ndarray:
  """Outputs [S, B, H, W, 3] of one batch; the signal axis padded to `width` (with a mask,
  [1, B, H, W, 3]: every signal, each in its region)."""
  contents = image_arrays.to_float(
    np.stack([load_content(j.path, args.size, args.max_pixels) for j in chunk])
  )
  din = signals.din
  if signals.regions is None:
    din = core.take_signals(din, list(index) + [index[-1]] * (width - len(index)))
  if args.strength < 1.0:
    din = stylizer.with_strength(din, contents, args.strength, args.style_size)
  options = dict(
    tile_size=args.tile_size,
    stats_max_side=args.stats_max_side,
    exact_stats=args.exact_stats,
    preserve_colors=args.preserve_color,
    work_size=args.work_size,
  )
  if signals.regions is None:
    return stylizer.stylize(contents, din, **options)
  return regions.stylize_regions(stylizer, contents, din, signals.regions, **options)[None]


def run(stylizer, signals: EncodedSignals, jobs: Sequence[Job], args) -> int:
  """Stylizes and writes every planned output; returns how many were written."""
  total = sum(len(j.outputs) for j in jobs)
  written = 0
  with progress.bar(total, 'image', 'stylize') as bar:
    for chunk, index, width in batches(jobs, len(signals.names), args.batch):
      out = stylize_batch(stylizer, signals, chunk, index, width, args)
      for b, job in enumerate(chunk):
        for s, i in enumerate(index):
          if i in job.outputs:
            image_files.save_image(job.outputs[i], out[s, b])
            written += 1
            bar.update()
  return written
