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

"""`zmnet-stylize --content clip.mp4 ...`: the video branch of the stylize command.

    zmnet-stylize --content clip.mp4 --style a.jpg --out clip_a.mp4
    zmnet-stylize --content clip.mp4 --style a.jpg b.jpg --style-sweep --out sweep.mp4

One signal per clip: a style (or --text, --signal), several --mix'ed, or a --style-sweep
through several over the clip's length. Everything is checked before the first frame is
stylized; the output appears under its name only when complete, also when the run is
stopped by Ctrl-C or SIGTERM (`error: interrupted`, exit status 130) or the clip breaks
off (an error, unless --keep-partial).
"""

from __future__ import annotations

import os
from pathlib import Path
import sys

from zmnet_jax import files
from zmnet_jax.cli.common import UsageError
from zmnet_jax.data import image_files
from zmnet_jax.video import io as video_io, pipeline

# Stills-only options, refused with a video (name -> value that means "not given").
STILLS_ONLY = {'exact_stats': False, 'backend': 'jax', 'dtype': 'float32'}


def check_options(args) -> None:
  """UsageError for options a video cannot take."""
  for name, default in STILLS_ONLY.items():
    if getattr(args, name) != default:
      flag = '--' + name.replace('_', '-')
      raise UsageError(f'{flag}: not for videos (they run on the jax backend, in float32)')
  if args.style_sweep and args.mix is not None:
    raise UsageError('--style-sweep and --mix: give one of them')
  if args.mask:
    raise UsageError('--mask: for still images (a video takes one signal)')


def output_file(args, signal_name: str) -> str:
  """The clip to write: --out itself (.mp4/.mov/.mkv) or `{stem}__{signal}.mp4` in it."""
  suffix = Path(args.out).suffix.lower()
  if suffix in video_io.OUTPUT_EXTENSIONS:
    return args.out
  if suffix in image_files.IMAGE_EXTENSIONS or suffix in video_io.VIDEO_EXTENSIONS:
    raise video_io.VideoError(
      f'{args.out}: a video is written as {", ".join(video_io.OUTPUT_EXTENSIONS)} (or give a folder)'
    )
  return os.path.join(args.out, f'{Path(args.content).stem}__{signal_name}.mp4')


def signal_name(args, names) -> str:
  if args.mix is not None:
    return 'mix'
  if args.style_sweep:
    if len(names) < 2:
      raise UsageError('--style-sweep: needs at least two signals to sweep through')
    return 'sweep'
  if len(names) != 1:
    raise UsageError(
      f'a video takes one signal, got {len(names)}: give one, --mix them or '
      '--style-sweep through them'
    )
  return names[0]


def options(args) -> pipeline.VideoOptions:
  return pipeline.VideoOptions(
    stats=args.stats,
    half_life=args.half_life,
    stats_max_side=args.stats_max_side,
    batch=args.batch,
    size=args.size,
    work_size=args.work_size,
    tile_size=args.tile_size,
    preserve_colors=args.preserve_color,
    strength=args.strength,
    style_size=args.style_size,
    crf=args.crf,
    keep_partial=args.keep_partial,
  )


def stylize_clip(args, source, load_signals) -> str:
  """Everything `zmnet-stylize` does for a video `--content`; returns the summary line.

  `source` is the command's checked SignalSource; `load_signals(args, source)` gives
  (stylizer, encoded signals).
  """
  check_options(args)
  name = signal_name(args, source.names)
  out = output_file(args, name)
  with video_io.VideoReader(args.content) as reader:
    info = reader.info()
  if info.width * info.height > args.max_pixels:
    raise video_io.VideoError(
      f'{args.content}: frames of {info.width}x{info.height} exceed --max-pixels'
    )
  if os.path.exists(out) and not args.overwrite:
    print(f'note: {out} exists; --overwrite replaces it', file=sys.stderr)
    return f'written 0, skipped 1 -> {out}'
  files.check_not_input(out, [args.content, *source.inputs])
  files.check_writable(os.path.dirname(os.path.abspath(out)), folder=True)
  stylizer, signals = load_signals(args, source)
  signal = pipeline.Signal(signals.din, sweep=bool(args.style_sweep))
  report = pipeline.stylize_video(stylizer, args.content, out, signal, options(args))
  audio = report.audio or 'none'
  of = f' of {report.declared}' if report.declared and report.frames < report.declared else ''
  return (
    f'written {out}: {report.frames}{of} frames, {report.width}x{report.height} at '
    f'{report.fps:.3g} fps, audio {audio}, stats {args.stats}; {report.seconds:.1f} s '
    f'({report.frames_per_s:.2f} frames/s)'
  )
