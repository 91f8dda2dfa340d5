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

"""Held-out evaluation: every style x every content, vmapped over style signals.

This is the one evaluation code path: training's periodic/final evaluation and sample grids
call it, and so does the `evaluate` command (`zmnet_jax.cli.evaluate`).

Styles are loaded at the contents' size (the scale every score is taken at) and resized
to the model's style size inside `stylize_chunk` for encoding. They go through in chunks
of a fixed number of signals (the last chunk padded by repeating its last style, so
everything compiles once); with a mesh, each chunk's signals are split over its 'data'
devices for encoding, transforming and scoring. Scores per
(style, content) pair, each [S, B]:

  content_loss         content term of the loss network (config.loss.content_weights)
  style_loss_gram      Gram style term (config.loss.style_weights)
  style_loss_mean_std  mean/std style term (same layers and weights)
  style_ratio          geometric mean over relu1_1..relu5_1 of the output's Gram loss over
                       the content's (fixed VGG19; 1 = unstylized, lower = more style)
  lpips                LPIPS(VGG16) of content vs output (lower: more of the content kept)
  ssim                 SSIM of content vs output (higher: more of the content kept)

Throughput times stylization alone (encoding a chunk's signals and transforming every
content, until the outputs are ready). The first chunk's extra time over a steady chunk is
`compile_s`; the other chunks give `pairs_per_s` and `ms_per_image` (a run of one chunk is
timed a second time for them). Memory grows with signals per chunk x contents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
import dataclasses
import functools
import logging
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from zmnet_jax import files
from zmnet_jax.data import eval_sets, image_arrays, image_files
from zmnet_jax.evaluation import metrics
from zmnet_jax.infer import core
from zmnet_jax.models import losses
from zmnet_jax.models.model import Model

log = logging.getLogger(__name__)

SCORE_NAMES = (
  'content_loss',
  'style_loss_gram',
  'style_loss_mean_std',
  'style_ratio',
  'lpips',
  'ssim',
)
STYLE_KINDS = ('gram', 'mean_std')


@dataclasses.dataclass(frozen=True)
class HeldOutSet:
  content_names: list[str]
  contents: np.ndarray  # [Nc, H, W, 3] float32 in [0, 1]
  style_names: list[str]
  styles: np.ndarray  # [Ns, H, W, 3]: at the contents' size, the scale of every score
  style_size: int | None = None  # encoded at this size (None: as loaded)


def load_held_out(folders, config) -> HeldOutSet:
  """The evaluation contents and styles named by the config (deterministic order), both
  at `eval.image_size`."""
  ev = config.eval
  content_names, contents = eval_sets.load_eval_images(
    folders.content_val, ev.image_size, limit=ev.num_contents
  )
  style_names, styles = eval_sets.load_eval_images(
    folders.style_val, ev.image_size, limit=ev.num_styles
  )
  return HeldOutSet(content_names, contents, style_names, styles, ev.style_size)


# ----------------------------------------------------------------------------- scores


def pair_scores(model: Model, vgg_params, lpips_params, ratio_params, outputs, contents, styles):
  """Every score of SCORE_NAMES for outputs [S, B, ...] of contents [B] x styles [S]: [S, B]."""
  num_styles, batch = outputs.shape[:2]
  outputs = outputs.astype(jnp.float32)
  flat = outputs.reshape((num_styles * batch,) + outputs.shape[2:])
  out_feats = model.vgg_features(vgg_params, flat)
  content_feats = model.vgg_features(vgg_params, contents)
  style_feats = model.vgg_features(vgg_params, styles)
  tiled_content = jax.tree.map(lambda f: jnp.tile(f, (num_styles, 1, 1, 1)), content_feats)
  repeated_style = jax.tree.map(lambda f: jnp.repeat(f, batch, axis=0), style_feats)
  weights = model.loss
  content = sum(losses.content_terms(out_feats, tiled_content, weights.content_weights).values())
  scores = {'content_loss': content.reshape(num_styles, batch)}
  for kind in STYLE_KINDS:
    terms = losses.style_terms(out_feats, repeated_style, weights.style_weights, kind)
    scores[f'style_loss_{kind}'] = sum(terms.values()).reshape(num_styles, batch)
  scores['lpips'] = metrics.lpips_from_features(
    lpips_params,
    metrics.lpips_features(lpips_params, outputs),
    metrics.lpips_features(lpips_params, contents),
  )
  scores['ssim'] = metrics.ssim(outputs, contents)
  scores['style_ratio'] = metrics.style_ratio_grid(ratio_params, outputs, contents, styles)
  return scores


# ----------------------------------------------------------------------------- chunks


@dataclasses.dataclass(frozen=True)
class Networks:
  """What an evaluation runs: the compiled functions and their (placed) params."""

  functions: core.InferenceFunctions
  params: Any
  vgg_params: Any
  lpips_params: Any = None  # None: stylize only, no scores
  ratio_params: Any = None  # the style ratio's VGG19
  scores: Any = None  # jitted pair_scores (vgg, lpips, ratio, outputs, contents, styles)
  style_size: int | None = None  # styles are resized to this for encoding (None: as given)

  @property
  def model(self) -> Model:
    return self.functions.model

  @property
  def num_devices(self) -> int:
    return self.functions.num_devices


def networks(
  model: Model,
  params,
  vgg_params,
  mesh=None,
  lpips_params=None,
  scores: bool = True,
  style_size: int | None = None,
) -> Networks:
  """Networks for an evaluation (replicated over the mesh, once); loads the LPIPS weights
  when scoring needs them. Styles are encoded at `style_size` (None: as given)."""
  if scores and lpips_params is None:
    lpips_params = metrics.load_lpips()
  ratio_params = metrics.load_style_ratio() if scores else None
  if not scores:
    lpips_params = None
  functions = core.functions_for(model, mesh)
  placed = functions.replicate((params, vgg_params, lpips_params, ratio_params))
  return Networks(functions, *placed, scorer(functions), style_size)


@functools.lru_cache(maxsize=16)
def scorer(functions: core.InferenceFunctions):
  """`pair_scores` jitted once per model and mesh: (vgg, lpips, ratio vgg, outputs,
  contents, styles) -> scores, with the outputs and styles split over the devices."""
  rep, split = 'replicated', 'split'
  return functions.jit(
    functools.partial(pair_scores, functions.model), (rep, rep, rep, split, rep, split), split
  )


def chunk_size(batch_styles: int, num_styles: int, num_devices: int = 1) -> int:
  """Signals per chunk: `batch_styles` or fewer if fewer styles, a multiple of the devices."""
  size = max(1, min(int(batch_styles), int(num_styles)))
  return image_arrays.round_up(size, num_devices)


def stylize_chunk(nets: Networks, contents: jax.Array, styles):
  """(DIN params [S], outputs [S, B, H, W, 3]) of style images [S] applied to contents [B],
  the styles encoded at `nets.style_size`.

  With a mesh, the signals (style images, DIN parameters, outputs) stay split over 'data'
  from encoding to scoring; the chunk is already a multiple of the devices.
  """
  fns = nets.functions
  size = nets.style_size
  if size and styles.shape[1:3] != (size, size):
    styles = jax.image.resize(styles, (styles.shape[0], size, size, 3), 'linear', antialias=True)
  din = fns.encode(nets.params, nets.vgg_params, styles)
  return din, fns.transform(nets.params, contents, din)


def score_chunk(nets: Networks, outputs: jax.Array, contents: jax.Array, styles) -> dict:
  """`pair_scores` of one chunk, on the devices that hold its outputs."""
  return nets.scores(
    nets.vgg_params, nets.lpips_params, nets.ratio_params, outputs, contents, styles
  )


def to_host(tree):
  """Numpy copies of (possibly sharded, possibly multi-host) arrays."""

  def get(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      from jax.experimental import multihost_utils

      x = multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)

  return jax.tree.map(get, tree)


@dataclasses.dataclass
class Throughput:
  """Stylization wall-clock seconds and (real) pairs per chunk, in order."""

  seconds: list[float] = dataclasses.field(default_factory=list)
  pairs: list[int] = dataclasses.field(default_factory=list)

  def add(self, seconds: float, pairs: int) -> None:
    self.seconds.append(float(seconds))
    self.pairs.append(int(pairs))

  def report(self) -> dict:
    """pairs/s and ms per image of the steady chunks; compile_s: the first chunk's excess."""
    if len(self.seconds) < 2:
      raise ValueError('throughput needs at least two timed chunks')
    steady_s, steady_pairs = sum(self.seconds[1:]), sum(self.pairs[1:])
    per_pair = steady_s / steady_pairs
    return {
      'pairs_per_s': steady_pairs / steady_s,
      'ms_per_image': 1000.0 * per_pair,
      'compile_s': max(self.seconds[0] - per_pair * self.pairs[0], 0.0),
      'first_chunk_s': self.seconds[0],
      'timed_pairs': steady_pairs,
      'timed_s': steady_s,
    }


@dataclasses.dataclass(frozen=True)
class ChunkResult:
  names: list[str]
  styles: np.ndarray  # [S, Hs, Ws, 3]
  scores: dict  # score name -> [S, B]; empty when not scoring
  outputs: np.ndarray | None  # the kept outputs [S', B', H, W, 3], None if none


def _time_stylize(nets: Networks, contents, styles) -> tuple[jax.Array, jax.Array, float]:
  """(placed styles, outputs, seconds until the outputs are ready)."""
  start = time.perf_counter()
  styles = nets.functions.split(styles)
  _, outputs = stylize_chunk(nets, contents, styles)
  jax.block_until_ready(outputs)
  return styles, outputs, time.perf_counter() - start


def evaluate_chunks(
  nets: Networks,
  contents: np.ndarray,
  chunks: Iterable[tuple[list[str], np.ndarray]],
  size: int,
  throughput: Throughput | None = None,
  keep_styles: int | None = None,
  keep_contents: int | None = None,
) -> Iterator[ChunkResult]:
  """Stylizes (and scores, if `nets` has LPIPS) each chunk of (names, style images).

  Every chunk is padded to `size` signals. Outputs are kept for the first `keep_styles`
  styles and `keep_contents` contents (None: all). With `throughput`, each chunk's
  stylization is timed (and a lone chunk once more, to separate compilation).
  """
  placed = nets.functions.replicate(contents)
  batch, kept, first = len(contents), 0, None
  for names, styles in chunks:
    padded = image_arrays.pad_with_last(styles, size)
    styles_on_device, outputs, seconds = _time_stylize(nets, placed, padded)
    if throughput is not None:
      throughput.add(seconds, len(names) * batch)
    first = padded if first is None else first
    scores = {}
    if nets.lpips_params is not None:
      scores = {
        k: v[: len(names)]
        for k, v in to_host(score_chunk(nets, outputs, placed, styles_on_device)).items()
      }
    take = len(names) if keep_styles is None else max(0, min(len(names), keep_styles - kept))
    kept += take
    out = to_host(outputs)[:take, :keep_contents] if take else None
    yield ChunkResult(list(names), styles, scores, out)
  if throughput is not None and len(throughput.seconds) == 1:
    throughput.add(_time_stylize(nets, placed, first)[2], throughput.pairs[0])


def array_chunks(names: Sequence[str], styles: np.ndarray, size: int):
  for start in range(0, len(styles), size):
    yield list(names[start : start + size]), styles[start : start + size]


def run_info(nets: Networks, contents: np.ndarray, size: int) -> dict:
  """What a throughput number was measured on."""
  device = jax.devices()[0]
  style_size = nets.style_size or contents.shape[1]
  return {
    'image_size': list(contents.shape[1:3]),
    'style_size': [style_size, style_size],
    'num_contents': len(contents),
    'signals_per_chunk': size,
    'num_devices': nets.num_devices,
    'platform': device.platform,
    'device_kind': device.device_kind,
  }


# ----------------------------------------------------------------------------- held-out set


@dataclasses.dataclass(frozen=True)
class Evaluation:
  outputs: np.ndarray  # [S, B, H, W, 3]
  scores: dict  # score name -> [S, B]
  throughput: dict


def evaluate_held_out(
  model: Model,
  params,
  vgg_params,
  held_out: HeldOutSet,
  batch_styles: int = 4,
  mesh=None,
  lpips_params=None,
  scores: bool = True,
) -> Evaluation:
  """Stylizes (and scores) every content with every style of `held_out`."""
  nets = networks(model, params, vgg_params, mesh, lpips_params, scores, held_out.style_size)
  size = chunk_size(batch_styles, len(held_out.styles), nets.num_devices)
  timer = Throughput() if scores else None
  results = list(
    evaluate_chunks(
      nets,
      held_out.contents,
      array_chunks(held_out.style_names, held_out.styles, size),
      size,
      timer,
    )
  )
  outputs = np.concatenate([r.outputs for r in results])
  merged = {k: np.concatenate([r.scores[k] for r in results]) for k in results[0].scores}
  throughput = {}
  if timer is not None:
    throughput = {
      **timer.report(),
      **run_info(nets, held_out.contents, size),
    }
  return Evaluation(outputs, merged, throughput)


def summarize(scores, style_names: Sequence[str]) -> dict:
  """Means over all pairs and per style (the per-style mean of every score)."""
  report = {f'mean_{k}': float(np.mean(v)) for k, v in scores.items()}
  report['per_style'] = {
    name: {k: float(np.mean(v[i])) for k, v in scores.items()} for i, name in enumerate(style_names)
  }
  return report


def evaluate_and_report(
  model: Model,
  params,
  vgg_params,
  held_out: HeldOutSet,
  prefix: str,
  eval_config,
  step: int,
  mesh=None,
) -> dict:
  """Writes `{prefix}.json` (scores) and `{prefix}.png` (contact sheet); returns the report."""
  result = evaluate_held_out(model, params, vgg_params, held_out, eval_config.batch_styles, mesh)
  scores = result.scores
  report = {
    'step': step,
    'num_contents': len(held_out.content_names),
    'num_styles': len(held_out.style_names),
  }
  report.update(summarize(scores, held_out.style_names))
  report['throughput'] = result.throughput
  report['pairs'] = [
    dict(content=c, style=s, **{k: float(v[i, j]) for k, v in scores.items()})
    for i, s in enumerate(held_out.style_names)
    for j, c in enumerate(held_out.content_names)
  ]
  if jax.process_index() == 0:
    files.write_json(prefix + '.json', report)
    image_files.save_image(
      prefix + '.png',
      image_arrays.contact_sheet(held_out.contents, held_out.styles, result.outputs),
    )
    log.info(
      'evaluation at step %d: content %.4g, style (Gram) %.4g, style ratio %.3f, LPIPS %.3f, '
      'SSIM %.3f over %d pairs (%.1f pairs/s) -> %s.json',
      step,
      report['mean_content_loss'],
      report['mean_style_loss_gram'],
      report['mean_style_ratio'],
      report['mean_lpips'],
      report['mean_ssim'],
      len(report['pairs']),
      result.throughput['pairs_per_s'],
      prefix,
    )
  return report


def save_sample_grid(model: Model, params, vgg_params, held_out: HeldOutSet, path: str):
  """Contact sheet of every held-out style x content (stylized only, not scored)."""
  result = evaluate_held_out(model, params, vgg_params, held_out, scores=False)
  if jax.process_index() == 0:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image_files.save_image(
      path, image_arrays.contact_sheet(held_out.contents, held_out.styles, result.outputs)
    )
