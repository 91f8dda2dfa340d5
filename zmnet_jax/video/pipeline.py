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

"""A clip through the model: frames streamed in, batched, stylized, streamed out.

    stylize_video(stylizer, 'clip.mp4', 'out.mp4', Signal.constant(din), VideoOptions())

One signal (a style, a mix, a word) for the whole clip, or a sweep through several over
its length. Frames are decoded one at a time and written as soon as their batch is done,
so a clip of any length needs the memory of one batch; the audio is muxed as it comes.
A first pass (only for `clip` statistics, `strength` < 1 or a sweep) samples frames
across the clip and counts them. The output is written to a temporary name and renamed when complete.

A clip that holds fewer frames than its header declares is a warning; one that breaks off
(a decode error, or a cut packet) is an error unless `keep_partial` (then a warning), and
the partial output never appears under the final name. The temporary is locked while
written: one left by a run that was killed (its lock died with it) is removed by the next
run writing the same output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
import dataclasses
import os
import sys
import time
from typing import Any

import jax
import numpy as np
from PIL import Image

from zmnet_jax import files, progress as progress_lib
from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.infer import signal_inputs, stylizer as stylizer_lib, tiling
from zmnet_jax.video import io, temporal


@dataclasses.dataclass(frozen=True)
class VideoOptions:
  """How a clip is stylized (see `zmnet-stylize --help` for each)."""

  stats: str = 'smooth'  # 'frame', 'smooth' or 'clip' (temporal)
  half_life: float = 0.5  # seconds, for 'smooth'
  cut_threshold: float = 0.15  # thumbnail change that restarts 'smooth'
  stats_max_side: int = 1024  # statistics from frames at most this long
  clip_frames: int = 16  # frames sampled for 'clip' statistics and `strength`
  batch: int = 4  # frames per call
  size: int | None = None  # short side of the output (default: the source's)
  work_size: int | None = None
  tile_size: int = 2048  # frames up to 2K run whole (1080p: 3x faster than tiles of 1024)
  preserve_colors: bool = False
  strength: float = 1.0
  style_size: int | None = None
  crf: int = 18
  preset: str = 'medium'
  keep_partial: bool = False  # a clip that breaks off: keep the frames before (a warning)

  def __post_init__(self):
    if self.stats not in temporal.MODES:
      raise io.VideoError(f'--stats: one of {", ".join(temporal.MODES)}, got {self.stats!r}')


@dataclasses.dataclass(frozen=True)
class Signal:
  """The DIN params [1] of each frame: one signal throughout, or a sweep through
  several (linear between consecutive ones over the clip's length)."""

  din: Any  # leaves [K, C]
  sweep: bool = False

  @classmethod
  def constant(cls, din) -> Signal:
    return cls(din, False)

  def at(self, position: float):
    """DIN params [1] at `position` in [0, 1] of the clip."""
    count = int(jax.tree.leaves(self.din)[0].shape[0])
    if not self.sweep or count == 1:
      return jax.tree.map(lambda x: np.asarray(x[:1]), self.din)
    scaled = min(max(position, 0.0), 1.0) * (count - 1)
    low = min(int(scaled), count - 2)
    u = scaled - low
    return jax.tree.map(lambda x: np.asarray((1 - u) * x[low] + u * x[low + 1])[None], self.din)

  def blended(self, own, strength: float) -> Signal:
    """Every signal moved towards `own` ([1]: the clip's own style) by 1 - `strength`."""
    din = jax.tree.map(
      lambda s, o: strength * np.asarray(s) + (1 - strength) * np.asarray(o)[:1], self.din, own
    )
    return Signal(din, self.sweep)


@dataclasses.dataclass(frozen=True)
class VideoReport:
  frames: int
  seconds: float
  width: int
  height: int
  fps: float
  audio: str | None  # 'aac (copied)', 'aac (from pcm_s16le)' or None
  cuts: int
  declared: int = 0  # frames the source's header declares (0: unknown)

  @property
  def frames_per_s(self) -> float:
    return self.frames / max(self.seconds, 1e-9)


def output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
  """(width, height) with the short side `short_side` (when given), both even."""
  if short_side:
    scale = short_side / min(width, height)
    width, height = max(2, round(width * scale)), max(2, round(height * scale))
  return io.even_size(width, height)


def resized(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
  """uint8 [H, W, 3] at `size` (width, height): antialiased, or cropped by the odd pixel."""
  width, height = size
  if rgb.shape[1] - width in (0, 1) and rgb.shape[0] - height in (0, 1):
    return rgb[:height, :width]
  return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


class EvenSample:
  """At most 2 x `count` items spread evenly over a stream of unknown length."""

  def __init__(self, count: int):
    self.count, self.stride, self.seen, self.kept = count, 1, 0, []

  def add(self, item_fn: Callable[[], Any]) -> None:
    if self.seen % self.stride == 0:
      self.kept.append(item_fn())
      if len(self.kept) > 2 * self.count:
        self.kept, self.stride = self.kept[::2], self.stride * 2
    self.seen += 1

  def items(self) -> list:
    return [self.kept[i] for i in temporal.sample_indices(len(self.kept), self.count)]


def sample_frames(
  path: str, size: tuple[int, int], count: int, keep_partial: bool = False
) -> tuple[list[np.ndarray], int]:
  """(`count` frames spread over the clip at `size`, the clip's frame count): a first pass.
  A clip that breaks off is a VideoError here, before any work (unless `keep_partial`)."""
  sample = EvenSample(count)
  with io.VideoReader(path) as reader:
    for frame in reader.frames(keep_partial=True):
      sample.add(lambda frame=frame: resized(frame.rgb, size))
    check_ending(reader, keep_partial)
  return sample.items(), sample.seen


def check_ending(reader: io.VideoReader, keep_partial: bool) -> str | None:
  """After a whole pass: None when the clip held what its header declares, else a warning
  (without its 'warning: '); a VideoError when it broke off, unless `keep_partial`."""
  ending = reader.ending()
  if ending is None:
    return None
  if ending.broken and not keep_partial:
    raise io.VideoError(
      f'{ending.message}; --keep-partial keeps the {reader.decoded} frames before'
    )
  return ending.message + (f'; kept the {reader.decoded} frames before' if ending.broken else '')


def report_stale_temporaries(out: str, warn: Callable[[str], None]) -> None:
  removed, kept = files.remove_stale_temporaries(out)
  for path in removed:
    warn(f'note: removed {path}, the temporary of an earlier run that was killed')
  for path in kept:
    warn(f'note: left {path}: a temporary of another run, running or just killed')


def print_to_stderr(line: str) -> None:
  print(line, file=sys.stderr)


class FrameStylizer:
  """Batches of frames -> stylized frames, with the statistics mode's normalization."""

  def __init__(self, stylizer: stylizer_lib.Stylizer, options: VideoOptions, fps: float):
    self.stylizer, self.options = stylizer, options
    self.smoothed = temporal.SmoothedStatistics(
      temporal.ema_weight(options.half_life, fps), options.cut_threshold
    )
    self.clip_stats = None

  def stats_side(self, size: tuple[int, int]) -> int:
    """The long side statistics are taken at: that of the frames TNet sees, capped."""
    long_side = max(size)
    if self.options.work_size:
      long_side = min(long_side, self.options.work_size)
    return min(long_side, self.options.stats_max_side)

  def prepare_clip(self, sample: Sequence[np.ndarray], din) -> None:
    """The clip's statistics from sampled frames (mode 'clip')."""
    side = self.stats_side(sample[0].shape[1::-1])
    small = [tiling.downscale(image_arrays.to_float(f)[None], side)[0] for f in sample]
    self.clip_stats = temporal.clip_statistics(self.stylizer, small, din)

  def __call__(self, frames: np.ndarray, dins: Sequence[Any]) -> np.ndarray:
    """uint8 frames [B, H, W, 3] with DIN params [1] each -> uint8 [B, H, W, 3]."""
    contents = image_arrays.to_float(frames)
    cuts = None
    if self.options.stats == 'smooth':
      gains, cuts = self.smoothed.track(np.stack([temporal.thumbnail(f) for f in frames]))
      contents = np.clip(contents / gains[:, None, None, None], 0.0, 1.0)
    din = dins[0] if all(d is dins[0] for d in dins) else per_frame(dins)
    stats = self.statistics(contents, cuts, dins, din)
    out = self.stylizer.stylize(
      contents,
      din,
      tile_size=self.options.tile_size,
      stats_max_side=self.options.stats_max_side,
      preserve_colors=self.options.preserve_colors,
      work_size=self.options.work_size,
      stats=stats,
    )[0]
    return np.stack([image_files.to_uint8(frame, 'stylized frame') for frame in out])

  def statistics(self, contents, cuts, dins, din):
    mode, batch = self.options.stats, len(contents)
    if mode == 'frame':
      return None
    if mode == 'clip':
      return jax.tree.map(lambda x: np.repeat(x, batch, axis=1), self.clip_stats)
    side = self.stats_side(contents.shape[2:0:-1])
    if din is dins[0]:
      own = temporal.frame_statistics(self.stylizer, contents, din, side)
    else:
      parts = [
        temporal.frame_statistics(self.stylizer, contents[i : i + 1], d, side)
        for i, d in enumerate(dins)
      ]
      own = jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *parts)
    return self.smoothed.update(own, cuts)


def per_frame(dins: Sequence[Any]):
  """DIN params [1] per frame -> per-content params [1, B]."""
  return jax.tree.map(lambda *xs: np.stack([np.asarray(x[0]) for x in xs])[None], *dins)


def stylize_video(
  stylizer: stylizer_lib.Stylizer,
  source: str,
  out: str,
  signal: Signal,
  options: VideoOptions,
  progress: bool = True,
  warn: Callable[[str], None] = print_to_stderr,
  on_frames: Callable[[int, int], None] | None = None,
) -> VideoReport:
  """Stylizes the clip `source` into `out` (.mp4/.mov/.mkv), audio included.

  `on_frames(done, total)` is called after each batch (total: the frames the clip is
  known or declared to hold; 0 when unknown). `warn` gets the lines worth a user's attention ('warning: ...' for a clip that ends early,
  'note: ...' for a stale temporary removed), as they arise.
  """
  start = time.time()
  with io.VideoReader(source) as probe:
    info = probe.info()
  size = output_size(info.width, info.height, options.size)
  total = info.frames
  if options.stats == 'clip' or options.strength < 1.0 or signal.sweep:
    sample, total = sample_frames(source, size, options.clip_frames, options.keep_partial)
    if options.strength < 1.0:
      signal_inputs.check_strength(options.strength, stylizer.signal_kind)
      own = stylizer.encode_images(sample, options.style_size, f'{source} (its own style)')
      signal = signal.blended(stylizer_lib.mix(own, [1.0] * len(sample)), options.strength)
  transform = FrameStylizer(stylizer, options, float(info.fps))
  if options.stats == 'clip':
    transform.prepare_clip(sample, signal.at(0.5))
  report_stale_temporaries(out, warn)
  ending = None
  with io.VideoReader(source) as reader, files.atomic_path(out) as tmp, files.locked_file(tmp):
    with io.VideoWriter(
      tmp,
      *size,
      info.fps,
      reader.video_stream.time_base,
      reader.audio_stream,
      crf=options.crf,
      preset=options.preset,
      suffix=os.path.splitext(out)[1],
    ) as writer:
      bar = (
        progress_lib.bar(total or None, 'frame', os.path.basename(out))
        if progress
        else progress_lib.quiet()
      )
      with bar:
        for frames, pts, indices in batches(reader, writer, size, options.batch):
          dins = [signal.at(i / max(total - 1, 1)) for i in indices]
          for rgb, t in zip(transform(frames, dins), pts, strict=True):
            writer.write(rgb, t)
          bar.update(len(frames))
          if on_frames is not None:
            on_frames(writer.frames_written, total or 0)
      if not writer.frames_written:
        raise io.VideoError(f'{source}: has no video frames')
      ending = check_ending(reader, options.keep_partial)
  if ending:
    warn(f'warning: {ending}')
  return VideoReport(
    writer.frames_written,
    time.time() - start,
    *size,
    float(info.fps),
    writer.audio_summary,
    transform.smoothed.cuts,
    info.frames,
  )


def batches(
  reader: io.VideoReader, writer: io.VideoWriter, size: tuple[int, int], batch: int
) -> Iterator[tuple[np.ndarray, list, list[int]]]:
  """(uint8 frames [B, H, W, 3] at `size`, their pts, their indices), muxing the audio
  packets met on the way. A decode error ends the frames (see `check_ending`)."""
  frames, pts, indices, index = [], [], [], 0
  for item in reader.items(keep_partial=True):
    if not isinstance(item, io.Frame):
      writer.mux_audio(item)
      continue
    frames.append(resized(item.rgb, size))
    pts.append(item.pts)
    indices.append(index)
    index += 1
    if len(frames) == batch:
      yield np.stack(frames), pts, indices
      frames, pts, indices = [], [], []
  if frames:
    yield np.stack(frames), pts, indices
