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
import collections
from collections.abc import Sequence
import dataclasses
import os
from pathlib import Path
import sys
import time
from typing import Any

import numpy as np

from zmnet_jax import files, infer, progress
from zmnet_jax.cli import common, video as video_cli
from zmnet_jax.cli.common import UsageError
from zmnet_jax.data import image_io, images
from zmnet_jax.infer import core, loading
from zmnet_jax.infer.signals import STYLE_ENCODERS
from zmnet_jax.models import zmnet
from zmnet_jax.portable import bundle
from zmnet_jax.signals import vocabulary
from zmnet_jax.video import io as video_io, pipeline, temporal

FILE_SUFFIXES = ('.png', '.jpg', '.jpeg')
STILL_TILE_SIZE = 1024
DEFAULT_MAX_PIXELS = image_io.DEFAULT_MAX_PIXELS


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


# ----------------------------------------------------------------------------- inputs


def image_paths(path: str, exclude: str) -> list[str]:
  """One image file, or the images of a folder (outside the `exclude` folder)."""
  if os.path.isdir(path):
    skip = os.path.realpath(exclude) + os.sep
    paths = [p for p in image_io.list_images(path) if not os.path.realpath(p).startswith(skip)]
    if not paths:
      raise image_io.ImageError(f'{path}: no image files outside the output folder')
    note_left_out(path)
    return paths
  image_io.check_regular_file(path)
  return [path]


def note_left_out(folder: str, shown: int = 5) -> None:
  """A note naming what a folder of images holds but is not read: links that loop or
  lead nowhere, FIFOs, videos (other files, e.g. text, pass in silence)."""
  left = [
    (p, 'a video: give it alone as --content' if why == 'not an image' else why)
    for p, why in image_io.left_out(folder)
    if why != 'not an image' or video_io.is_video_path(p)
  ]
  if left:
    listed = ', '.join(f'{os.path.relpath(p, folder)} ({why})' for p, why in left[:shown])
    more = f' and {len(left) - shown} more' if len(left) > shown else ''
    print(f'note: {folder}: left out {len(left)}: {listed}{more}', file=sys.stderr)


def unique_stems(paths: Sequence[str]) -> list[str]:
  """File stems, which name the outputs; two inputs with one stem are an error."""
  seen = {}
  for path in paths:
    stem = Path(path).stem
    if stem in seen:
      raise image_io.ImageError(
        f'{path}: same name as {seen[stem]}; outputs would collide (rename one)'
      )
    seen[stem] = path
  return list(seen)


def load_content(path: str, size: int | None, max_pixels: int) -> np.ndarray:
  """uint8 [H, W, 3], short side resized to `size` when given (within `max_pixels`)."""
  return image_io.load_image(path, max_pixels, size, '--size')


# ----------------------------------------------------------------------------- signals


def model_path(args) -> str:
  """The path of `--model` (an ONNX bundle only with `--backend onnx`)."""
  if bundle.is_bundle(args.model):
    if args.backend != 'onnx':
      raise UsageError(f'--model {args.model}: an ONNX bundle; run it with --backend onnx')
    return os.path.abspath(args.model)
  if problem := bundle.missing_manifest(args.model):
    raise loading.InferenceError(problem)
  return loading.resolve_model_path(args.model).path


def load_model_vocabulary(model_path: str):
  """The signal vocabulary saved with a model (workdir, params file or ONNX bundle)."""
  if bundle.is_bundle(model_path):
    return vocabulary.load_vocabulary(model_path)
  return loading.load_vocabulary(loading.resolve_model_path(model_path))


@dataclasses.dataclass(frozen=True)
class Signals:
  """Encoded guiding signals: output names and DIN params with leading [S]."""

  names: list[str]
  din: Any


@dataclasses.dataclass(frozen=True)
class SignalSource:
  """Where signals come from, checked before the model loads; `encode` runs after."""

  names: list[str]
  kind: str  # the model signal kind this source needs: 'image' or 'vector'
  path: str  # what error messages name
  encode: Any  # Stylizer -> DIN params [S]
  inputs: tuple[str, ...] = ()  # the files it reads (no output may replace them)


def signal_source(args, out: str) -> SignalSource:
  """The signals named on the command line (add new sources, e.g. --text, here)."""
  if args.signal:
    return vector_source(args.signal)
  if args.text:
    return text_source(args.text, args.model)
  return style_source(args.style, out, args.style_size, args.max_pixels)


def text_source(texts: Sequence[str], model_path: str) -> SignalSource:
  """Words / expressions, embedded with the vocabulary saved beside the model."""
  vocab = load_model_vocabulary(model_path)
  if vocab is None:
    raise infer.InferenceError(
      f'{model_path}: no {vocabulary.VOCABULARY_FILE}; --text needs a model trained on '
      f'word signals (configs/attributes.py)'
    )
  vectors = vocab.signals(list(texts))  # checks every text now, before the model loads
  names = [files.safe_name(t) for t in texts]
  return SignalSource(
    names, 'vector', model_path, lambda stylizer: stylizer.encode_vectors(vectors)
  )


def style_source(
  specs: Sequence[str], out: str, style_size: int | None, max_pixels: int
) -> SignalSource:
  """Style image files; each is decoded now to check it and again, alone, to encode it."""
  paths = [p for spec in specs for p in image_paths(spec, out)]
  names = unique_stems(paths)
  for path in paths:
    image_io.load_image(path, max_pixels)
  return SignalSource(
    names,
    'image',
    specs[0],
    lambda stylizer: encode_styles(stylizer, paths, style_size, max_pixels),
    tuple(paths),
  )


def encode_styles(stylizer, paths: Sequence[str], style_size: int | None, max_pixels: int):
  """DIN params [S] of style files, holding one full-size image in memory at a time; a
  progress bar for a folder of them (encoding can take longer than stylizing)."""
  encoded = []
  bar = progress.bar(len(paths), 'style', 'encode') if len(paths) > 1 else progress.quiet()
  with bar:
    for path in paths:
      image = image_io.load_image(path, max_pixels)
      encoded.append(stylizer.encode_images([image], style_size, path))
      bar.update()
  return core.concat_signals(encoded)


def vector_source(path: str) -> SignalSource:
  """Signal vectors from a .npy file, named `{stem}` (one) or `{stem}_{i}` (several)."""
  vectors = load_vectors(path)
  stem = Path(path).stem
  names = [stem] if len(vectors) == 1 else [f'{stem}_{i}' for i in range(len(vectors))]
  return SignalSource(
    names, 'vector', path, lambda stylizer: stylizer.encode_vectors(vectors), (path,)
  )


def load_vectors(path: str) -> np.ndarray:
  """A .npy file of float vectors [D] or [S, D] -> float32 [S, D]."""
  if Path(path).suffix.lower() != '.npy':
    raise infer.InferenceError(f'{path}: signal vectors must be a .npy file')
  try:
    vectors = np.load(path, allow_pickle=False)
  except (ValueError, EOFError) as e:
    raise infer.InferenceError(f'{path}: not a readable .npy array ({e})') from e
  if (
    not np.issubdtype(vectors.dtype, np.number) or vectors.ndim not in (1, 2) or 0 in vectors.shape
  ):
    raise infer.InferenceError(
      f'{path}: expected numbers shaped [D] or [S, D], got {vectors.dtype} {list(vectors.shape)}'
    )
  if not np.all(np.isfinite(vectors)):
    raise infer.InferenceError(f'{path}: vectors contain NaN or infinite values')
  return np.atleast_2d(vectors).astype(np.float32)


def encode(stylizer, source: SignalSource, model_path: str, mix) -> Signals:
  """The source's DIN params (one mixed signal with `mix`); the model must take its kind."""
  if stylizer.signal_kind != source.kind:
    wants = {'image': 'style images (--style)', 'vector': 'signal vectors (--signal)'}
    raise infer.InferenceError(
      f'{source.path}: the model {model_path} takes {wants[stylizer.signal_kind]}, '
      f'not {wants[source.kind]}'
    )
  try:
    din = source.encode(stylizer)
  except infer.InferenceError as e:
    raise infer.InferenceError(f'{source.path}: {e}') from e
  if mix is None:
    return Signals(source.names, din)
  return Signals(['mix'], infer.mix(din, mix))


# ----------------------------------------------------------------------------- outputs


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
  if suffix in image_io.IMAGE_EXTENSIONS | {'.gif'} and suffix not in FILE_SUFFIXES:
    raise image_io.ImageError(
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


# ----------------------------------------------------------------------------- running


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


def stylize_batch(stylizer, signals: Signals, chunk, index, width, args) -> np.ndarray:
  """Outputs [S, B, H, W, 3] of one batch; the signal axis padded to `width`."""
  contents = images.to_float(
    np.stack([load_content(j.path, args.size, args.max_pixels) for j in chunk])
  )
  din = core.take_signals(signals.din, list(index) + [index[-1]] * (width - len(index)))
  if args.strength < 1.0:
    din = stylizer.with_strength(din, contents, args.strength, args.style_size)
  return stylizer.stylize(
    contents,
    din,
    tile_size=args.tile_size,
    stats_max_side=args.stats_max_side,
    exact_stats=args.exact_stats,
    preserve_colors=args.preserve_color,
    work_size=args.work_size,
  )


def run(stylizer, signals: Signals, jobs: Sequence[Job], args) -> int:
  """Stylizes and writes every planned output; returns how many were written."""
  total = sum(len(j.outputs) for j in jobs)
  written = 0
  with progress.bar(total, 'image', 'stylize') as bar:
    for chunk, index, width in batches(jobs, len(signals.names), args.batch):
      out = stylize_batch(stylizer, signals, chunk, index, width, args)
      for b, job in enumerate(chunk):
        for s, i in enumerate(index):
          if i in job.outputs:
            image_io.save_image(job.outputs[i], out[s, b])
            written += 1
            bar.update()
  return written


def check_inputs(args):
  """(signal source, jobs, skipped count): every input read and checked, nothing written."""
  model = model_path(args)
  source = signal_source(args, args.out)
  if args.mix is not None and len(args.mix) != len(source.names):
    raise UsageError(f'--mix: {len(args.mix)} weights for {len(source.names)} signals')
  names = ['mix'] if args.mix is not None else source.names
  content_paths = image_paths(args.content, args.out)
  jobs, skipped = plan(content_paths, names, args.out, args.overwrite)
  check_outputs(jobs, [*content_paths, *source.inputs, model])
  check_contents(jobs, args.size, args.max_pixels)
  return source, jobs, skipped


def load_stylizer(args):
  """The run's stylizer: JAX `Stylizer`, or the ONNX Runtime one."""
  if args.backend == 'onnx':
    runtime = common.onnx_module('runtime', '--backend onnx')
    return runtime.OnnxStylizer.load(args.model, args.threads, args.style_encoder)
  return infer.Stylizer.load(args.model, dtype=args.dtype, style_encoder=args.style_encoder)


def load_signals(args, source: SignalSource):
  """(Stylizer, encoded signals) for the run."""
  stylizer = load_stylizer(args)
  if args.strength < 1.0 and stylizer.signal_kind != 'image':
    raise UsageError(
      f'--strength: below 1 needs an image-signal model; {args.model} '
      f'takes {stylizer.signal_kind} signals'
    )
  return stylizer, encode(stylizer, source, args.model, args.mix)


def stylize_files(args) -> str:
  """Everything `main` does; returns the summary line."""
  if video_io.is_video_path(args.content):
    return video_cli.stylize_clip(args, signal_source(args, args.out), load_signals)
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
    written = run(stylizer, signals, jobs, args)
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
