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

"""What `zmnet-stylize` reads: content and style files, and the signals they make.

Every input is found and checked before the model loads (`SignalSource`); its signals
are encoded after (`encode`), as DIN params with a leading signal axis.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import os
from pathlib import Path
import sys
from typing import Any

import numpy as np

from zmnet_jax import files, infer, progress
from zmnet_jax.cli.common import UsageError
from zmnet_jax.data import image_files
from zmnet_jax.infer import core, loading, regions
from zmnet_jax.portable import bundle
from zmnet_jax.video import io as video_io
from zmnet_jax.words import vocabulary


def image_paths(path: str, exclude: str) -> list[str]:
  """One image file, or the images of a folder (outside the `exclude` folder)."""
  if os.path.isdir(path):
    skip = os.path.realpath(exclude) + os.sep
    found, left = image_files.scan_images(path)
    paths = [p for p in found if not os.path.realpath(p).startswith(skip)]
    if not paths:
      raise image_files.ImageError(f'{path}: no image files outside the output folder')
    note_left_out(path, left)
    return paths
  image_files.check_regular_file(path)
  return [path]


def note_left_out(folder: str, left_out: Sequence[tuple[str, str]], shown: int = 5) -> None:
  """A note naming what a folder of images holds but is not read (`left_out`: (path, why)
  from `image_files.scan_images`): links that loop or lead nowhere, FIFOs, videos (other
  files, e.g. text, pass in silence)."""
  left = [
    (p, 'a video: give it alone as --content' if why == 'not an image' else why)
    for p, why in left_out
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
      raise image_files.ImageError(
        f'{path}: same name as {seen[stem]}; outputs would collide (rename one)'
      )
    seen[stem] = path
  return list(seen)


def load_content(path: str, size: int | None, max_pixels: int) -> np.ndarray:
  """uint8 [H, W, 3], short side resized to `size` when given (within `max_pixels`)."""
  return image_files.load_image(path, max_pixels, size, '--size')


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
class EncodedSignals:
  """Encoded guiding signals: output names and DIN params with leading [S]; with a mask,
  one output ('mask') of all S signals, each where `regions` [S, H, W] puts it."""

  names: list[str]
  din: Any
  regions: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class SignalSource:
  """Where signals come from, checked before the model loads; `encode` runs after."""

  names: list[str]
  kind: str  # the model signal kind this source needs: 'image' or 'vector'
  path: str  # what error messages name
  encode: Any  # Stylizer -> DIN params [S]
  inputs: tuple[str, ...] = ()  # the files it reads (no output may replace them)
  regions: np.ndarray | None = None  # with --mask: each signal's weights [S, H, W]
  mask: str = ''  # the mask's path

  @property
  def output_names(self) -> list[str]:
    return ['mask'] if self.regions is not None else self.names


def with_mask(source: SignalSource, path: str, max_pixels: int) -> SignalSource:
  """The source with the regions of the mask at `path` (`infer.regions`)."""
  mask = image_files.load_image(path, max_pixels)
  weights = regions.mask_weights(mask, len(source.names), path)
  return dataclasses.replace(source, inputs=(*source.inputs, path), regions=weights, mask=path)


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
    image_files.load_image(path, max_pixels)
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
      image = image_files.load_image(path, max_pixels)
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


def encode(stylizer, source: SignalSource, model_path: str, mix) -> EncodedSignals:
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
  if source.regions is not None:
    return EncodedSignals(source.output_names, din, source.regions)
  if mix is None:
    return EncodedSignals(source.names, din)
  return EncodedSignals(['mix'], infer.mix(din, mix))
