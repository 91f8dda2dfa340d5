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

"""The quality protocol: fixed pairs, stylized as a user would, scored at one scale.

  python -m zmnet_jax.evaluate --protocol val512 --model default --out runs/eval_fast

`val512` pairs every painting of `style/val` (120, sorted by path) with 2 photos of
`content/val` (100, sorted), taken in turn: style k gets contents 2k and 2k + 1 (mod
100), 240 pairs in all, every photo used 2 or 3 times. Each content is centre-cropped to a
square and resized to 512 x 512 (the BSDS500 photos are 481 x 321, so their central 321 px
square is upscaled 1.6x): that is the image stylized. The model reads the whole style file
as `zmnet-stylize` does (short side resized to the model's style size); the peer's outputs
come from its own API on the same 512 px content. Every output is rounded to 8 bits (what
a user saves), then scored against the 512 px content and the style centre-cropped and
resized to the same 512 x 512: every image at the same scale.

Scores per pair (`SCORE_NAMES`): the style ratio (geometric mean over relu1_1..relu5_1 of
the output's Gram distance to the style over the content's; 1 = unstylized, 0 = the
style's statistics) and each layer's ratio, the same for mean/std statistics, the content
loss (relu4_1 feature MSE), LPIPS and SSIM against the content, and the Hellinger distance
of 8x8x8 RGB histograms to the style (with the unstylized content's for reference).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
import csv
import dataclasses
import os
import time

import jax
import numpy as np

from zmnet_jax import files
from zmnet_jax.data import eval_sets, image_arrays, image_files
from zmnet_jax.data.image_files import DataError
from zmnet_jax.evaluation import metrics


@dataclasses.dataclass(frozen=True)
class Protocol:
  """A named set of pairs: folders under the data root, size, contents per style."""

  name: str
  content: str
  styles: str
  size: int
  contents_per_style: int


PROTOCOLS = {'val512': Protocol('val512', 'content/val', 'style/val', 512, 2)}
STRENGTHS = (1.0,)

LAYER_SCORES = tuple(
  f'{kind}_ratio/{layer}' for kind in ('gram', 'mean_std') for layer in metrics.RATIO_LAYERS
)
SCORE_NAMES = (
  'style_ratio',
  'mean_std_ratio',
  'content_loss',
  'lpips',
  'ssim',
  'colour_distance',
  'colour_distance_unstylized',
  *LAYER_SCORES,
)
# Lower is better (more style, or more of the content kept); the rest: higher is better.
LOWER_IS_BETTER = frozenset(SCORE_NAMES) - {'ssim', 'colour_distance_unstylized'}


def get_protocol(name: str) -> Protocol:
  if name not in PROTOCOLS:
    raise ValueError(f'unknown protocol {name!r}; known: {", ".join(PROTOCOLS)}')
  return PROTOCOLS[name]


# ----------------------------------------------------------------------------- pairs


@dataclasses.dataclass(frozen=True)
class Pair:
  content: str  # path relative to `Folders.content`
  style: str  # path relative to `Folders.styles`

  @property
  def name(self) -> str:
    """The output's file stem, 'CONTENT+STYLE' (their paths without the extension)."""
    return f'{_stem(self.content)}+{_stem(self.style)}'


def _stem(path: str) -> str:
  return files.safe_name(os.path.splitext(path)[0].replace(os.sep, '-'), 120)


@dataclasses.dataclass(frozen=True)
class Folders:
  content: str
  styles: str


def make_pairs(folders: Folders, contents_per_style: int, limit: int | None = None) -> list[Pair]:
  """Style k (sorted) with contents k * n .. k * n + n - 1 (mod the number of contents);
  with `limit`, that many pairs spread evenly over the list."""
  contents = [os.path.relpath(p, folders.content) for p in image_files.list_images(folders.content)]
  styles = [os.path.relpath(p, folders.styles) for p in image_files.list_images(folders.styles)]
  n = min(contents_per_style, len(contents))
  pairs = [
    Pair(contents[(k * n + j) % len(contents)], style)
    for k, style in enumerate(styles)
    for j in range(n)
  ]
  names = {}
  for pair in pairs:
    if names.setdefault(pair.name, pair) != pair:
      other = names[pair.name]
      raise DataError(
        f'{folders.styles}: {pair.style} and {other.style} (or their contents) give one output '
        f'name, {pair.name}; rename one'
      )
  return eval_sets.select_evenly(pairs, limit)


@dataclasses.dataclass(frozen=True)
class PairImages:
  """One pair's pixels, float32 in [0, 1]: the content and style as scored (size x size,
  rounded to 8 bits: the content is what a stylizer reads, as a PNG would hold it), and the
  whole style file (what a stylizer reads)."""

  content: np.ndarray
  style: np.ndarray
  style_file: np.ndarray


class ImageCache:
  """Loads each pair's images once per file (square crops at `size`)."""

  def __init__(self, folders: Folders, size: int):
    self.folders, self.size = folders, size
    self._files = {}

  def _load(self, path: str) -> np.ndarray:
    if path not in self._files:
      self._files[path] = image_arrays.to_float(image_files.load_image(path))
    return self._files[path]

  def images(self, pair: Pair) -> PairImages:
    content = self._load(os.path.join(self.folders.content, pair.content))
    style = self._load(os.path.join(self.folders.styles, pair.style))
    return PairImages(
      quantized(image_arrays.square(content, self.size)),
      quantized(image_arrays.square(style, self.size)),
      style,
    )


# ----------------------------------------------------------------------------- sources

# (pair, its images, strength) -> the output, float [size, size, 3] in [0, 1].
Source = Callable[[Pair, PairImages, float], np.ndarray]


def model_source(stylizer, style_size: int | None = None, work_size: int | None = None) -> Source:
  """Stylizes as `zmnet-stylize` does: the style file encoded at `style_size` (default: the
  model's), moved towards the content's own parameters when strength < 1; with
  `work_size`, stylized at that long side and guided-upsampled (stylize's fast mode)."""

  def stylize(pair: Pair, pair_images: PairImages, strength: float) -> np.ndarray:
    content = pair_images.content[None]
    din = stylizer.encode_images([pair_images.style_file], style_size, name=pair.style)
    if strength < 1.0:
      din = stylizer.with_strength(din, content, strength, style_size)
    return np.asarray(stylizer.stylize(content, din, work_size=work_size)[0, 0])

  return stylize


def output_path(root: str, pair: Pair, strength: float) -> str:
  """Where `--save-outputs` writes (and `saved_outputs` reads) a pair's output."""
  return os.path.join(root, f'strength_{strength:.2f}', pair.name + '.png')


def saved_outputs(root: str, size: int) -> Source:
  """Outputs saved earlier (ours or another system's), laid out as `output_path`."""

  def load(pair: Pair, pair_images: PairImages, strength: float) -> np.ndarray:
    path = output_path(root, pair, strength)
    if not os.path.exists(path):
      raise DataError(f'{path}: no saved output for this pair and strength')
    output = image_arrays.to_float(image_files.load_image(path))
    if output.shape[:2] != (size, size):
      raise DataError(f'{path}: is {output.shape[1]}x{output.shape[0]}, expected {size}x{size}')
    return output

  return load


def quantized(image: np.ndarray) -> np.ndarray:
  """Rounded to 8 bits, as a saved image is."""
  return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.float32) / 255.0


# ----------------------------------------------------------------------------- scoring


def _pair_scores(nets: dict, output, content, cached: dict):
  """The jitted scores of one output [1, H, W, 3] (see SCORE_NAMES); `cached` holds the
  content's and style's `image_statistics` and the content's LPIPS features."""
  out_stats = metrics.image_statistics(nets['ratio'], output)
  ratios = metrics.pair_ratios(out_stats, cached['content'], cached['style'])
  out_lpips = metrics.lpips_features(nets['lpips'], output)
  return {
    'gram': ratios['gram'][0],
    'mean_std': ratios['mean_std'][0],
    'content_loss': metrics.content_distance(out_stats, cached['content'])[0],
    'lpips': metrics.lpips_from_features(nets['lpips'], out_lpips, cached['content_lpips'])[0],
    'ssim': metrics.ssim(output, content)[0],
  }


class Scorer:
  """Scores outputs against their pair's images. Each style's and content's VGG statistics
  are computed once per file, the content's LPIPS features (large) once per run of pairs
  with the same content."""

  def __init__(self, ratio_params=None, lpips_params=None):
    self.nets = {
      'ratio': ratio_params if ratio_params is not None else metrics.load_style_ratio(),
      'lpips': lpips_params if lpips_params is not None else metrics.load_lpips(),
    }
    self._statistics = jax.jit(metrics.image_statistics)
    self._lpips_features = jax.jit(metrics.lpips_features)
    self._scores = jax.jit(_pair_scores)
    self._stats = {}
    self._lpips = (None, None)  # (content, its LPIPS features): the last content only

  def statistics(self, key: tuple, image: np.ndarray):
    if key not in self._stats:
      self._stats[key] = self._statistics(self.nets['ratio'], image[None])
    return self._stats[key]

  def content_lpips(self, content: str, image: np.ndarray):
    if self._lpips[0] != content:
      self._lpips = (content, self._lpips_features(self.nets['lpips'], image[None]))
    return self._lpips[1]

  def score(self, pair: Pair, pair_images: PairImages, output: np.ndarray) -> dict[str, float]:
    """Every score of SCORE_NAMES for one output (rounded to 8 bits first)."""
    output = quantized(output)
    cached = {
      'content': self.statistics(('content', pair.content), pair_images.content),
      'style': self.statistics(('style', pair.style), pair_images.style),
      'content_lpips': self.content_lpips(pair.content, pair_images.content),
    }
    raw = jax.device_get(self._scores(self.nets, output[None], pair_images.content[None], cached))
    scores = {
      'style_ratio': float(metrics.geometric_mean(raw['gram'])),
      'mean_std_ratio': float(metrics.geometric_mean(raw['mean_std'])),
      'content_loss': float(raw['content_loss']),
      'lpips': float(raw['lpips']),
      'ssim': float(raw['ssim']),
      'colour_distance': metrics.colour_distance(output, pair_images.style),
      'colour_distance_unstylized': metrics.colour_distance(pair_images.content, pair_images.style),
    }
    for kind in ('gram', 'mean_std'):
      for layer, value in zip(metrics.RATIO_LAYERS, raw[kind], strict=True):
        scores[f'{kind}_ratio/{layer}'] = float(value)
    return scores


# ----------------------------------------------------------------------------- running


@dataclasses.dataclass(frozen=True)
class Job:
  """One system at one strength; with `save_to`, its outputs are written there
  (`output_path`)."""

  source: Source
  strength: float = 1.0
  label: str = 'model'
  save_to: str | None = None


def evaluate(
  pairs: Sequence[Pair], cache: ImageCache, jobs: Sequence[Job], scorer: Scorer
) -> Iterator[dict]:
  """One row per (pair, job): label, content, style, strength, seconds (to make the
  output), SCORE_NAMES, and the output. Pairs go content by content, so each content's
  features are computed once however many styles, strengths and systems share it."""
  for pair in sorted(pairs, key=lambda p: p.content):
    pair_images = cache.images(pair)
    for job in jobs:
      start = time.perf_counter()
      output = job.source(pair, pair_images, job.strength)
      seconds = time.perf_counter() - start
      if job.save_to:
        path = output_path(job.save_to, pair, job.strength)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        image_files.save_image(path, output)
      yield {
        'label': job.label,
        'content': pair.content,
        'style': pair.style,
        'strength': float(job.strength),
        'seconds': seconds,
        **scorer.score(pair, pair_images, output),
        'output': output,
      }


def summarize(rows: Sequence[dict]) -> dict:
  """Per strength: the number of pairs and each score's mean and median over them."""
  report = {}
  for strength in sorted({r['strength'] for r in rows}, reverse=True):
    chosen = [r for r in rows if r['strength'] == strength]
    table = {k: np.array([r[k] for r in chosen], np.float64) for k in SCORE_NAMES}
    report[f'{strength:.2f}'] = {
      'num_pairs': len(chosen),
      'mean': {k: float(v.mean()) for k, v in table.items()},
      'median': {k: float(np.median(v)) for k, v in table.items()},
      'median_seconds': float(np.median([r['seconds'] for r in chosen])),
    }
  return report


def report(chosen: Protocol, folders: Folders, size: int, rows: Sequence[dict], **about) -> dict:
  """What metrics.json holds: the protocol's settings, the source (`about`: model, step,
  ...) and `summarize(rows)`."""
  return {
    'protocol': {
      'name': chosen.name,
      'content': os.path.abspath(folders.content),
      'styles': os.path.abspath(folders.styles),
      'size': size,
      'contents_per_style': chosen.contents_per_style,
      'num_pairs': len({(r['content'], r['style']) for r in rows}),
    },
    'source': about,
    'by_strength': summarize(rows),
  }


CSV_FIELDS = ('content', 'style', 'strength', 'seconds', *SCORE_NAMES)


def write_pairs_csv(path: str, rows: Sequence[dict]) -> None:
  with files.atomic_path(path) as tmp, open(tmp, 'w', newline='') as f:
    writer = csv.DictWriter(f, CSV_FIELDS, extrasaction='ignore')
    writer.writeheader()
    for row in rows:
      writer.writerow({k: (f'{v:.6g}' if isinstance(v, float) else v) for k, v in row.items()})


def read_pairs_csv(path: str) -> list[dict]:
  """The rows `write_pairs_csv` wrote (scores as floats); DataError if it is not one."""
  try:
    with open(path, newline='') as f:
      reader = csv.DictReader(f)
      missing = set(CSV_FIELDS) - set(reader.fieldnames or ())
      if missing:
        raise DataError(f'{path}: not a pairs.csv of zmnet-evaluate (no {sorted(missing)[0]})')
      return [
        {
          k: (v if k in ('content', 'style') else float(v))
          for k, v in row.items()
          if k in CSV_FIELDS
        }
        for row in reader
      ]
  except (UnicodeDecodeError, ValueError) as e:
    if isinstance(e, DataError):
      raise
    raise DataError(f'{path}: not a pairs.csv of zmnet-evaluate ({e})') from None
