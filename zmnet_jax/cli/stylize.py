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

"""Stylize image files: every content x every signal (style image or vector) -> images.

  python -m zmnet_jax.stylize --model runs/tiny --content photos/ --style paintings/ --out out/
  python -m zmnet_jax.stylize --model runs/tiny --content me.jpg --style a.jpg --out me_a.png
  python -m zmnet_jax.stylize --model runs/tiny --content photos/ --style a.jpg b.jpg \\
      --mix 0.7,0.3 --out mixed/

Outputs are `{content}__{style}.png` in the --out folder (`{content}__mix.png` with
--mix); one content and one signal may go to a single .png/.jpg file instead. Every
input is checked before anything is stylized; a problem is one line on stderr
(`error: <path>: <problem>`) and a non-zero exit status.

Sizes: --size resizes each content so its short side is N (default: as is; any size works,
large images go through tiles). --style-size resizes each style image so its short side
is N before encoding (default: the model's eval.style_size, the scale it trained at).

Backends: --backend onnx runs the exported graphs in ONNX Runtime (the [onnx] extra);
--model is then also a `zmnet-export --format onnx` folder, and any other model is
exported once into the cache.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import sys
import time

from zmnet_jax import infer
from zmnet_jax.cli import common, stylize_inputs, stylize_jobs, video as video_cli
from zmnet_jax.cli.common import UsageError
from zmnet_jax.data import image_files
from zmnet_jax.infer.signal_inputs import STYLE_ENCODERS
from zmnet_jax.models import zmnet
from zmnet_jax.video import io as video_io, pipeline, temporal

STILL_TILE_SIZE = 1024
DEFAULT_MAX_PIXELS = image_files.DEFAULT_MAX_PIXELS


# ----------------------------------------------------------------------------- arguments


def build_parser() -> argparse.ArgumentParser:
  p = common.ArgumentParser(
    prog='python -m zmnet_jax.stylize',
    description='Stylize content images with style images or signal vectors.',
  )
  common.add_model_argument(p)
  p.add_argument(
    '--content',
    required=True,
    metavar='FILE_OR_DIR',
    help='content image, a folder of them (searched recursively), or a video clip '
    '(.mp4, .mov, .mkv, .avi, .webm, ...; the [video] extra)',
  )
  signal = p.add_mutually_exclusive_group(required=True)
  signal.add_argument(
    '--style',
    nargs='+',
    metavar='FILE_OR_DIR',
    help='style images or folders (image-signal models)',
  )
  signal.add_argument(
    '--signal',
    metavar='VECTOR_FILE',
    help='.npy file of signal vectors, [D] or [S, D] (vector-signal models)',
  )
  signal.add_argument(
    '--text',
    nargs='+',
    metavar='TEXT',
    help='words or expressions such as "0.5 morning + 0.5 night" (word-signal models); '
    'a weight may be negative, "1.5 night + -0.5 noon": arithmetic on the word vectors, '
    'which the network reads as one new signal (the weights must sum to more than 0)',
  )
  p.add_argument(
    '--out',
    required=True,
    metavar='FILE_OR_DIR',
    help='output folder, or a .png/.jpg file for one content and one signal',
  )
  p.add_argument(
    '--size',
    type=common.side(),
    metavar='N',
    help='resize contents so the short side is N (default: keep the size)',
  )
  p.add_argument(
    '--style-size',
    type=common.side(),
    metavar='N',
    help='resize styles so the short side is N before encoding (default: the '
    "model's eval.style_size)",
  )
  p.add_argument(
    '--style-encoder',
    choices=STYLE_ENCODERS,
    default='vgg',
    help="vgg (default: the model's own, VGG19 at its style size) or fast (the distilled "
    'encoder saved with the model, see zmnet_jax.distill: 10-20 ms a style on a 2-core '
    'CPU instead of ~600 ms for VGG at 512 px)',
  )
  p.add_argument(
    '--work-size',
    type=common.side(),
    metavar='N',
    help='fast mode: run the network with the long side at N pixels and restore the full '
    "resolution's detail by guided upsampling from the content (default: full resolution)",
  )
  p.add_argument(
    '--strength',
    type=common.number(0.0, 1.0),
    default=1.0,
    metavar='A',
    help='0: the content as its own style ... 1: the full style (default 1)',
  )
  p.add_argument(
    '--mix',
    metavar='W1,W2,...',
    help='mix all signals with these weights (normalized; not negative: they blend the '
    "signals' normalization scales, which past 0 would flip): one output per content, "
    'named {content}__mix.png',
  )
  p.add_argument(
    '--mask',
    metavar='IMAGE',
    help='a signal per region: a greyscale mask for two signals (black: the first, white: '
    'the second, grey blends them: soft edges) or a label image with one colour per signal, '
    "darkest first; of the content's shape. One output per content, {content}__mask.png",
  )
  p.add_argument(
    '--preserve-color',
    action='store_true',
    help="keep the content's colours (YIQ chroma), take the luminance only",
  )
  p.add_argument(
    '--backend',
    choices=('jax', 'onnx'),
    default='jax',
    help='jax (default; tiles large images) or onnx (ONNX Runtime on the CPU, needs the '
    '[onnx] extra; --model may also be a `zmnet-export --format onnx` folder; other '
    'models are exported once into the cache)',
  )
  p.add_argument(
    '--threads',
    type=common.threads(),
    metavar='N',
    help='onnx backend: CPU threads (default: ONNX Runtime chooses)',
  )
  p.add_argument(
    '--dtype',
    choices=('float32', 'bfloat16'),
    default='float32',
    help='compute dtype (default float32)',
  )
  p.add_argument(
    '--batch',
    type=common.batch(),
    default=8,
    metavar='N',
    help='at most N outputs (signals x contents of one size) per call (default 8)',
  )
  p.add_argument(
    '--tile-size',
    type=common.side(),
    metavar='N',
    help='images larger than N pixels go through overlapping tiles of N '
    "(at least 4x the network's receptive radius) with whole-image "
    f'statistics (default {STILL_TILE_SIZE}; video frames {pipeline.VideoOptions.tile_size}, '
    'so 1080p runs whole, 3x faster)',
  )
  p.add_argument(
    '--stats-max-side',
    type=common.side(),
    default=1024,
    metavar='N',
    help='tiled images take their normalization statistics from one pass '
    'downscaled to at most N pixels long (default 1024; larger is closer '
    "to an untiled pass and needs more memory); videos take every frame's from frames "
    'at most N long (256: about a third faster, a little less steady)',
  )
  p.add_argument(
    '--exact-stats',
    action='store_true',
    help='tiled images take the statistics of the full resolution instead, '
    'computed tile by tile: the output equals an untiled pass, at 4-8x '
    'the time',
  )
  p.add_argument(
    '--max-pixels',
    type=common.number(least=1),
    default=DEFAULT_MAX_PIXELS,
    metavar='N',
    help=f'refuse inputs and resized contents with more pixels (default {DEFAULT_MAX_PIXELS:.0e})',
  )
  p.add_argument('--overwrite', action='store_true', help='replace existing outputs')
  add_video_arguments(p)
  return p


def add_video_arguments(p) -> None:
  video = p.add_argument_group('video (when --content is a clip)')
  video.add_argument(
    '--stats',
    choices=temporal.MODES,
    default='smooth',
    help='normalization over frames: frame (each its own), smooth (a moving average, '
    'restarted at cuts, light changes divided out; default) or clip (one set for the '
    'whole clip, from frames sampled across it)',
  )
  video.add_argument(
    '--half-life',
    type=common.number(0.0),
    default=pipeline.VideoOptions.half_life,
    metavar='SECONDS',
    help='--stats smooth: the moving average halves its memory in this time (default %(default)s)',
  )
  video.add_argument(
    '--style-sweep',
    action='store_true',
    help='move through the given styles (or --text) over the clip, first to last',
  )
  video.add_argument(
    '--crf',
    type=common.integer(0, 51),
    default=18,
    metavar='N',
    help='H.264 quality: 0 lossless ... 51 worst (default 18, visually lossless)',
  )
  video.add_argument(
    '--keep-partial',
    action='store_true',
    help='a clip that breaks off (cut short, or data FFmpeg cannot decode): write the frames '
    'before the break and warn (default: an error, nothing written)',
  )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  """Parsed and checked arguments (each value by its `type`); raises UsageError."""
  args = build_parser().parse_args(argv)
  args.max_pixels = int(args.max_pixels)
  if args.tile_size is None:
    video = video_io.is_video_path(args.content)
    args.tile_size = pipeline.VideoOptions.tile_size if video else STILL_TILE_SIZE
  if args.style_encoder == 'fast' and args.style_size:
    raise UsageError('--style-size: the fast style encoder reads styles at its own size')
  if args.backend == 'onnx' and (args.exact_stats or args.dtype != 'float32'):
    raise UsageError('--backend onnx: runs whole images in float32 (no --exact-stats, --dtype)')
  args.mix = parse_mix(args.mix) if args.mix is not None else None
  if args.mask and args.mix is not None:
    raise UsageError('--mask and --mix: give one of them')
  return args


def parse_mix(text: str) -> list[float]:
  """'w1,w2,...' -> weights, checked by `zmnet.normalize_weights` (which `infer.mix` uses)."""
  try:
    weights = [float(w) for w in text.split(',')]
  except ValueError:
    raise UsageError(f'--mix: expected comma-separated numbers, got {text!r}') from None
  if any(w < 0 for w in weights):
    raise UsageError(
      f'--mix: {text}: weights must not be negative (they blend normalization scales); '
      'a --text expression may take negative weights (arithmetic on word vectors)'
    )
  try:
    zmnet.normalize_weights(weights)
  except ValueError as e:
    raise UsageError(f'--mix: {e}') from None
  return weights


def check_inputs(args):
  """(signal source, jobs, skipped count): every input read and checked, nothing written."""
  model = stylize_inputs.model_path(args)
  source = stylize_inputs.signal_source(args, args.out)
  if args.mix is not None and len(args.mix) != len(source.names):
    raise UsageError(f'--mix: {len(args.mix)} weights for {len(source.names)} signals')
  if args.mask:
    source = stylize_inputs.with_mask(source, args.mask, args.max_pixels)
  names = ['mix'] if args.mix is not None else source.output_names
  content_paths = stylize_inputs.image_paths(args.content, args.out)
  jobs, skipped = stylize_jobs.plan(content_paths, names, args.out, args.overwrite)
  stylize_jobs.check_outputs(jobs, [*content_paths, *source.inputs, model])
  stylize_jobs.check_contents(jobs, args.size, args.max_pixels)
  stylize_jobs.check_mask(jobs, source)
  return source, jobs, skipped


def load_stylizer(args):
  """The run's stylizer: JAX `Stylizer`, or the ONNX Runtime one."""
  if args.backend == 'onnx':
    runtime = common.onnx_module('runtime', '--backend onnx')
    return runtime.OnnxStylizer.load(args.model, args.threads, args.style_encoder)
  return infer.Stylizer.load(args.model, dtype=args.dtype, style_encoder=args.style_encoder)


def load_signals(args, source: stylize_inputs.SignalSource):
  """(Stylizer, encoded signals) for the run."""
  stylizer = load_stylizer(args)
  if args.strength < 1.0 and stylizer.signal_kind != 'image':
    raise UsageError(
      f'--strength: below 1 needs an image-signal model; {args.model} '
      f'takes {stylizer.signal_kind} signals'
    )
  return stylizer, stylize_inputs.encode(stylizer, source, args.model, args.mix)


def stylize_files(args) -> str:
  """Everything `main` does; returns the summary line."""
  if video_io.is_video_path(args.content):
    return video_cli.stylize_clip(args, stylize_inputs.signal_source(args, args.out), load_signals)
  start = time.time()
  source, jobs, skipped = check_inputs(args)
  if skipped:
    print(
      f'note: skipping {skipped} existing output(s); --overwrite replaces them', file=sys.stderr
    )
  written, times = 0, ''
  if jobs:
    encode_start = time.time()
    stylizer, signals = load_signals(args, source)
    work_start = time.time()
    written = stylize_jobs.run(stylizer, signals, jobs, args)
    times = (
      f' (the model and {len(source.names)} signal(s) {work_start - encode_start:.1f} s, '
      f'stylizing {1000 * (time.time() - work_start) / written:.0f} ms/image)'
    )
  exist = ' (they exist; --overwrite replaces them)' if skipped else ''
  return (
    f'written {written}, skipped {skipped}{exist} in {time.time() - start:.1f} s{times} '
    f'-> {args.out}'
  )


def main(argv: Sequence[str] | None = None) -> int:
  """`python -m zmnet_jax.stylize --model M --content C (--style S | --signal V) --out O`."""
  return common.run(lambda: stylize_files(parse_args(argv)), errors=(video_io.VideoError,))
