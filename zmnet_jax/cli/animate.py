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

"""Animate a still image by sweeping the guiding signal, e.g. from "noon" to "night".

  python -m zmnet_jax.animate --model runs/attributes --content photo.jpg \
      --signals "noon,night" --frames 24 --out day.gif
  python -m zmnet_jax.animate --model runs/default --content photo.jpg \
      --signals "a.jpg,b.jpg,c.jpg" --frames 48 --out styles.mp4 --interpolate embedding

Signals are words/expressions for word models and style-image paths for image models.
`--interpolate params` (default) blends DIN parameters; `embedding` blends the signal
embeddings PNet reads, then maps each blend through PNet. All frames go through the
jit-compiled inference vmapped over signals, in batches.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import fractions
import importlib.util
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from zmnet_jax import files, infer
from zmnet_jax.cli import common, stylize_inputs
from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.infer import core, loading
from zmnet_jax.video import io as video_io
from zmnet_jax.words import vocabulary


class AnimationError(ValueError):
  """Bad arguments; the message is one line for the user."""


def sweep_weights(num_signals: int, frames: int) -> np.ndarray:
  """[frames, num_signals] blending weights walking through the signals in order."""
  if frames < 2 or num_signals < 2:
    raise AnimationError(
      f'need at least 2 signals and 2 frames, got {num_signals} signals and {frames} frames'
    )
  position = np.linspace(0.0, num_signals - 1, frames)
  low = np.minimum(np.floor(position).astype(int), num_signals - 2)
  frac = position - low
  weights = np.zeros((frames, num_signals), np.float32)
  weights[np.arange(frames), low] = 1.0 - frac
  weights[np.arange(frames), low + 1] = frac
  return weights


def blend(tree, weights: np.ndarray):
  """Per-frame weighted sums of leaves with a leading [num_signals] axis -> [frames, ...]."""
  w = jnp.asarray(weights)
  return jax.tree.map(lambda x: jnp.tensordot(w, x.astype(jnp.float32), axes=1), tree)


def signal_inputs(
  stylizer: infer.Stylizer,
  specs: Sequence[str],
  model_path: str,
  style_size: int,
  max_pixels: int = image_files.DEFAULT_MAX_PIXELS,
):
  """The raw signals: style images [1, h, w, 3] or word vectors [1, D], one per spec."""
  if stylizer.signal_kind == 'image':
    return [
      stylizer.signal_input(image_files.load_image(s, max_pixels), style_size, s) for s in specs
    ]
  vocab = stylize_inputs.load_model_vocabulary(model_path)
  if vocab is None:
    raise AnimationError(
      f'{model_path}: no {vocabulary.VOCABULARY_FILE}; was this model trained on word signals?'
    )
  return [stylizer.signal_input(vocab.signal(s)[None]) for s in specs]


def frame_din(stylizer: infer.Stylizer, raw_signals, weights: np.ndarray, mode: str):
  """DIN params [frames] blended between the signals by `weights` [frames, signals]."""
  if mode == 'params':
    return blend(core.concat_signals([stylizer.encode_inputs(s) for s in raw_signals]), weights)
  if mode == 'embedding':
    emb = core.concat_signals([stylizer.embed(s) for s in raw_signals])
    return stylizer.din_from_embedding(blend(emb, weights))
  raise AnimationError(f"--interpolate must be 'params' or 'embedding', got {mode!r}")


def render(stylizer, content: np.ndarray, din, batch: int) -> list[np.ndarray]:
  """All frames [H, W, 3] of one content, `batch` signals per vmapped call."""
  frames = jax.tree.leaves(din)[0].shape[0]
  out = []
  for start in range(0, frames, batch):
    chunk = jax.tree.map(lambda x, s=start: x[s : s + batch], din)
    out.extend(stylizer.stylize(content[None], chunk)[:, 0])
  return out


def output_path(path: str) -> str:
  """The file to write: `path`, or for an MP4 without PyAV the GIF beside it."""
  if os.path.splitext(path)[1].lower() not in OUTPUT_SUFFIXES:
    raise AnimationError(f'{path}: output must end in .gif or .mp4')
  if path.lower().endswith('.mp4') and importlib.util.find_spec('av') is None:
    gif = os.path.splitext(path)[0] + '.gif'
    print(
      f"note: MP4 needs PyAV (pip install 'zmnet_jax[video]'); writing {gif} instead",
      file=sys.stderr,
    )
    return gif
  return path


def write_animation(path: str, frames: Sequence[np.ndarray], fps: float) -> str:
  """An MP4 (H.264 through PyAV) or GIF by the suffix of `output_path`, written to a
  temporary name and renamed; returns the path."""
  uint8 = [image_files.to_uint8(f) for f in frames]
  if path.lower().endswith('.mp4'):
    rate = fractions.Fraction(fps).limit_denominator(1001)
    height, width = uint8[0].shape[:2]
    with files.atomic_path(path) as tmp:
      with video_io.VideoWriter(tmp, width, height, rate, 1 / rate) as writer:
        for i, frame in enumerate(uint8):
          writer.write(frame, i)
    return path
  from PIL import Image

  pictures = [Image.fromarray(f) for f in uint8]
  with files.atomic_path(path) as tmp:
    pictures[0].save(
      tmp,
      format='GIF',
      save_all=True,
      append_images=pictures[1:],
      duration=int(round(1000 / fps)),
      loop=0,
    )
  return path


OUTPUT_SUFFIXES = ('.gif', '.mp4')


def parse_args(argv):
  p = common.ArgumentParser(
    prog='python -m zmnet_jax.animate',
    description=__doc__,
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  common.add_model_argument(p)
  p.add_argument('--content', required=True, help='the still image to animate')
  p.add_argument(
    '--signals', required=True, help='comma-separated words/expressions or style-image paths'
  )
  p.add_argument('--frames', type=common.integer(2, 10_000), default=24, help='frame count')
  p.add_argument('--out', required=True, help='anim.gif or anim.mp4')
  p.add_argument('--overwrite', action='store_true', help='replace an existing --out')
  p.add_argument('--fps', type=common.number(above=0, most=1000), default=12.0)
  p.add_argument('--interpolate', choices=('params', 'embedding'), default='params')
  p.add_argument(
    '--size', type=common.side(), help='resize the content short side (default: as is)'
  )
  p.add_argument('--style-size', type=common.side(), default=256)
  p.add_argument('--batch', type=common.batch(), default=8, help='frames per vmapped call')
  p.add_argument(
    '--max-pixels',
    type=common.number(least=1),
    default=image_files.DEFAULT_MAX_PIXELS,
    help='refuse a larger content (after --size) or style',
  )
  args = p.parse_args(argv)
  args.max_pixels = int(args.max_pixels)
  return args


def check_output(args, specs: Sequence[str]) -> str:
  """Before any work, the output path: .gif/.mp4, not an input, new (or --overwrite),
  writable."""
  path = output_path(args.out)
  inputs = [args.content, *specs, loading.resolve_model_path(args.model).path]
  files.check_new_file(path, inputs, args.overwrite)
  return path


def animate(args) -> str:
  """Everything `main` does; returns the summary line."""
  specs = [s.strip() for s in args.signals.split(',') if s.strip()]
  weights = sweep_weights(len(specs), args.frames)
  out = check_output(args, specs)
  content = image_files.load_image(args.content, args.max_pixels, args.size, '--size')
  stylizer = infer.Stylizer.load(args.model)
  raw = signal_inputs(stylizer, specs, args.model, args.style_size, args.max_pixels)
  din = frame_din(stylizer, raw, weights, args.interpolate)
  frames = render(stylizer, image_arrays.to_float(content), din, args.batch)
  return f'wrote {len(frames)} frames to {write_animation(out, frames, args.fps)}'


def main(argv=None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  return common.run(lambda: animate(parse_args(argv)), errors=(AnimationError,))


if __name__ == '__main__':
  sys.exit(main())
