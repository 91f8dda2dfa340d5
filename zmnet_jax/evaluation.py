"""Held-out evaluation: every style x every content, vmapped over style signals.

This is the one evaluation code path: training's periodic/final evaluation and sample grids
call it, and so does the `evaluate` command (`zmnet_jax.evaluate`).

Styles go through in chunks of a fixed number of signals (the last chunk padded by
repeating its last style, so everything compiles once); with a mesh, each chunk's signals
are split over its 'data' devices for encoding, transforming and scoring. Scores per
(style, content) pair, each [S, B]:

  content_loss         content term of the loss network (config.loss.content_weights)
  style_loss_gram      Gram style term (config.loss.style_weights)
  style_loss_mean_std  mean/std style term (same layers and weights)
  lpips                LPIPS(VGG16) of content vs output (lower: more of the content kept)
  ssim                 SSIM of content vs output (higher: more of the content kept)

Throughput times stylization alone (encoding a chunk's signals and transforming every
content, until the outputs are ready). The first chunk's extra time over a steady chunk is
`compile_s`; the other chunks give `pairs_per_s` and `ms_per_image` (a run of one chunk is
timed a second time for them). Memory grows with signals per chunk x contents.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from zmnet_jax import image_io, inference, input_pipeline, losses, metrics, sharding
from zmnet_jax.model import Model

log = logging.getLogger(__name__)

SCORE_NAMES = ('content_loss', 'style_loss_gram', 'style_loss_mean_std', 'lpips', 'ssim')
STYLE_KINDS = ('gram', 'mean_std')


@dataclasses.dataclass(frozen=True)
class HeldOutSet:
  content_names: list[str]
  contents: np.ndarray  # [Nc, H, W, 3] float32 in [0, 1]
  style_names: list[str]
  styles: np.ndarray  # [Ns, Hs, Ws, 3]


def load_held_out(folders, config) -> HeldOutSet:
  """The evaluation contents and styles named by the config (deterministic order)."""
  ev = config.eval
  content_names, contents = input_pipeline.load_eval_images(
      folders.content_val, ev.image_size, limit=ev.num_contents)
  style_names, styles = input_pipeline.load_eval_images(
      folders.style_val, ev.style_size, limit=ev.num_styles)
  return HeldOutSet(content_names, contents, style_names, styles)


# ----------------------------------------------------------------------------- scores


def pair_scores(model: Model, vgg_params, lpips_params, outputs, contents, styles):
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
  content = sum(losses.content_terms(out_feats, tiled_content,
                                     weights.content_weights).values())
  scores = {'content_loss': content.reshape(num_styles, batch)}
  for kind in STYLE_KINDS:
    terms = losses.style_terms(out_feats, repeated_style, weights.style_weights, kind)
    scores[f'style_loss_{kind}'] = sum(terms.values()).reshape(num_styles, batch)
  scores['lpips'] = metrics.lpips_from_features(
      lpips_params, metrics.lpips_features(lpips_params, outputs),
      metrics.lpips_features(lpips_params, contents))
  scores['ssim'] = metrics.ssim(outputs, contents)
  return scores


@functools.partial(jax.jit, static_argnums=0)
def _pair_scores(model: Model, vgg_params, lpips_params, outputs, contents, styles):
  return pair_scores(model, vgg_params, lpips_params, outputs, contents, styles)


# ----------------------------------------------------------------------------- chunks


@dataclasses.dataclass(frozen=True)
class Networks:
  """What an evaluation runs; replicated over the mesh when there is one."""
  model: Model
  params: Any
  vgg_params: Any
  lpips_params: Any = None  # None: stylize only, no scores
  mesh: Any = None

  @property
  def num_devices(self) -> int:
    return 1 if self.mesh is None else self.mesh.shape[sharding.DATA_AXIS]


def networks(model: Model, params, vgg_params, mesh=None, lpips_params=None,
             scores: bool = True) -> Networks:
  """Networks for an evaluation; loads the LPIPS weights when scoring needs them."""
  if scores and lpips_params is None:
    lpips_params = metrics.load_lpips()
  if not scores:
    lpips_params = None
  if mesh is not None:
    params, vgg_params, lpips_params = jax.device_put(
        (params, vgg_params, lpips_params), sharding.replicated(mesh))
  return Networks(model, params, vgg_params, lpips_params, mesh)


def chunk_size(batch_styles: int, num_styles: int, num_devices: int = 1) -> int:
  """Signals per chunk: `batch_styles` or fewer if fewer styles, a multiple of the devices."""
  size = max(1, min(int(batch_styles), int(num_styles)))
  return -(-size // num_devices) * num_devices


def pad_to(images: np.ndarray, size: int) -> np.ndarray:
  """Repeats the last image until there are `size` (one compiled shape for every chunk)."""
  missing = size - len(images)
  if missing <= 0:
    return images
  return np.concatenate([images, np.repeat(images[-1:], missing, axis=0)])


def place_contents(nets: Networks, contents: np.ndarray) -> jax.Array:
  if nets.mesh is None:
    return jnp.asarray(contents)
  return jax.device_put(contents, sharding.replicated(nets.mesh))


def place_signals(nets: Networks, styles) -> jax.Array:
  """Style images on device; with a mesh, split over 'data' (a no-op if already placed)."""
  if nets.mesh is None:
    return jnp.asarray(styles)
  return jax.device_put(styles, sharding.batch_sharding(nets.mesh))


def stylize_chunk(nets: Networks, contents: jax.Array, styles):
  """(DIN params [S], outputs [S, B, H, W, 3]) of style images [S] applied to contents [B].

  With a mesh, the signals (style images, DIN parameters, outputs) are split over 'data'.
  The DIN parameters reach `transform_signals` through the host (a few KB): it pads the
  signal axis with eager ops, which on sharded arrays would be cross-device gathers.
  """
  styles = place_signals(nets, styles)
  din = inference.encode_signals(nets.model, nets.params, nets.vgg_params, styles)
  host_din = din if nets.mesh is None else to_host(din)
  return din, inference.transform_signals(nets.model, nets.params, contents, host_din,
                                          mesh=nets.mesh)


def score_chunk(nets: Networks, outputs: jax.Array, contents: jax.Array, styles) -> dict:
  """`pair_scores` of one chunk, on the devices that hold its outputs."""
  return _pair_scores(nets.model, nets.vgg_params, nets.lpips_params, outputs, contents,
                      place_signals(nets, styles))


def to_host(tree):
  """Numpy copies of (possibly sharded, possibly multi-host) arrays."""
  def get(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
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
    return {'pairs_per_s': steady_pairs / steady_s, 'ms_per_image': 1000.0 * per_pair,
            'compile_s': max(self.seconds[0] - per_pair * self.pairs[0], 0.0),
            'first_chunk_s': self.seconds[0], 'timed_pairs': steady_pairs,
            'timed_s': steady_s}


@dataclasses.dataclass(frozen=True)
class ChunkResult:
  names: list[str]
  styles: np.ndarray  # [S, Hs, Ws, 3]
  scores: dict  # score name -> [S, B]; empty when not scoring
  outputs: np.ndarray | None  # the kept outputs [S', B', H, W, 3], None if none


def _time_stylize(nets: Networks, contents, styles) -> tuple[jax.Array, jax.Array, float]:
  """(placed styles, outputs, seconds until the outputs are ready)."""
  start = time.perf_counter()
  styles = place_signals(nets, styles)
  _, outputs = stylize_chunk(nets, contents, styles)
  jax.block_until_ready(outputs)
  return styles, outputs, time.perf_counter() - start


def evaluate_chunks(nets: Networks, contents: np.ndarray,
                    chunks: Iterable[tuple[list[str], np.ndarray]], size: int,
                    throughput: Throughput | None = None, keep_styles: int | None = None,
                    keep_contents: int | None = None) -> Iterator[ChunkResult]:
  """Stylizes (and scores, if `nets` has LPIPS) each chunk of (names, style images).

  Every chunk is padded to `size` signals. Outputs are kept for the first `keep_styles`
  styles and `keep_contents` contents (None: all). With `throughput`, each chunk's
  stylization is timed (and a lone chunk once more, to separate compilation).
  """
  placed = place_contents(nets, contents)
  batch, kept, first = len(contents), 0, None
  for names, styles in chunks:
    padded = pad_to(styles, size)
    styles_on_device, outputs, seconds = _time_stylize(nets, placed, padded)
    if throughput is not None:
      throughput.add(seconds, len(names) * batch)
    first = padded if first is None else first
    scores = {}
    if nets.lpips_params is not None:
      scores = {k: v[:len(names)] for k, v in
                to_host(score_chunk(nets, outputs, placed, styles_on_device)).items()}
    take = len(names) if keep_styles is None else max(0, min(len(names), keep_styles - kept))
    kept += take
    out = to_host(outputs)[:take, :keep_contents] if take else None
    yield ChunkResult(list(names), styles, scores, out)
  if throughput is not None and len(throughput.seconds) == 1:
    throughput.add(_time_stylize(nets, placed, first)[2], throughput.pairs[0])


def array_chunks(names: Sequence[str], images: np.ndarray, size: int):
  for start in range(0, len(images), size):
    yield list(names[start:start + size]), images[start:start + size]


def run_info(nets: Networks, contents: np.ndarray, styles_size, size: int) -> dict:
  """What a throughput number was measured on."""
  device = jax.devices()[0]
  return {'image_size': list(contents.shape[1:3]), 'style_size': list(styles_size),
          'num_contents': len(contents), 'signals_per_chunk': size,
          'num_devices': nets.num_devices, 'platform': device.platform,
          'device_kind': device.device_kind}


# ----------------------------------------------------------------------------- folders


def select_evenly(paths: Sequence[str], limit: int | None) -> list[str]:
  """`limit` of `paths` spread evenly over the list (every sub-folder gets its share)."""
  if limit is None or limit >= len(paths):
    return list(paths)
  return [paths[i * len(paths) // limit] for i in range(limit)]


def load_square(path: str, size: int) -> np.ndarray:
  """An image file as float32 [size, size, 3] in [0, 1], as `load_eval_images` makes it."""
  image = image_io.load_image(path)
  square = image_io.center_crop(image_io.resize_short_side(image, size), size)
  return square.astype(np.float32) / 255.0


def _try_load(path: str, size: int):
  try:
    return load_square(path, size)
  except image_io.ImageError as e:
    return e


def image_chunks(paths: Sequence[str], root: str, size: int, chunk: int,
                 skipped: list[str] | None = None, workers: int = 4):
  """(names relative to `root`, images [n, size, size, 3]) per `chunk` paths, decoded on
  threads one chunk ahead. Undecodable files are logged, appended to `skipped` and left out.
  """
  groups = [list(paths[i:i + chunk]) for i in range(0, len(paths), chunk)]
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:

    def submit(group):
      return [pool.submit(_try_load, p, size) for p in group]

    pending = submit(groups[0]) if groups else []
    for index, group in enumerate(groups):
      current = pending
      pending = submit(groups[index + 1]) if index + 1 < len(groups) else []
      names, images = [], []
      for path, future in zip(group, current):
        result = future.result()
        if isinstance(result, image_io.ImageError):
          log.warning('skipping style image: %s', result)
          if skipped is not None:
            skipped.append(path)
          continue
        names.append(Path(os.path.relpath(path, root)).as_posix())
        images.append(result)
      if images:
        yield names, np.stack(images)


# ----------------------------------------------------------------------------- held-out set


@dataclasses.dataclass(frozen=True)
class Evaluation:
  outputs: np.ndarray  # [S, B, H, W, 3]
  scores: dict  # score name -> [S, B]
  throughput: dict


def evaluate_held_out(model: Model, params, vgg_params, held_out: HeldOutSet,
                      batch_styles: int = 4, mesh=None, lpips_params=None,
                      scores: bool = True) -> Evaluation:
  """Stylizes (and scores) every content with every style of `held_out`."""
  nets = networks(model, params, vgg_params, mesh, lpips_params, scores)
  size = chunk_size(batch_styles, len(held_out.styles), nets.num_devices)
  timer = Throughput() if scores else None
  results = list(evaluate_chunks(nets, held_out.contents,
                                 array_chunks(held_out.style_names, held_out.styles, size),
                                 size, timer))
  outputs = np.concatenate([r.outputs for r in results])
  merged = {k: np.concatenate([r.scores[k] for r in results]) for k in results[0].scores}
  throughput = {}
  if timer is not None:
    throughput = {**timer.report(), **run_info(nets, held_out.contents,
                                               held_out.styles.shape[1:3], size)}
  return Evaluation(outputs, merged, throughput)


def summarize(scores, style_names: Sequence[str]) -> dict:
  """Means over all pairs and per style (the per-style mean of every score)."""
  report = {f'mean_{k}': float(np.mean(v)) for k, v in scores.items()}
  report['per_style'] = {
      name: {k: float(np.mean(v[i])) for k, v in scores.items()}
      for i, name in enumerate(style_names)}
  return report


def evaluate_and_report(model: Model, params, vgg_params, held_out: HeldOutSet, prefix: str,
                        eval_config, step: int, mesh=None) -> dict:
  """Writes `{prefix}.json` (scores) and `{prefix}.png` (contact sheet); returns the report."""
  result = evaluate_held_out(model, params, vgg_params, held_out, eval_config.batch_styles,
                             mesh)
  scores = result.scores
  report = {'step': step, 'num_contents': len(held_out.content_names),
            'num_styles': len(held_out.style_names)}
  report.update(summarize(scores, held_out.style_names))
  report['throughput'] = result.throughput
  report['pairs'] = [
      dict(content=c, style=s, **{k: float(v[i, j]) for k, v in scores.items()})
      for i, s in enumerate(held_out.style_names)
      for j, c in enumerate(held_out.content_names)]
  if jax.process_index() == 0:
    os.makedirs(os.path.dirname(prefix) or '.', exist_ok=True)
    with open(prefix + '.json', 'w') as f:
      json.dump(report, f, indent=2)
    image_io.save_image(prefix + '.png',
                        contact_sheet(held_out.contents, held_out.styles, result.outputs))
    log.info('evaluation at step %d: content %.4g, style (Gram) %.4g, LPIPS %.3f, SSIM %.3f '
             'over %d pairs (%.1f pairs/s) -> %s.json', step, report['mean_content_loss'],
             report['mean_style_loss_gram'], report['mean_lpips'], report['mean_ssim'],
             len(report['pairs']), result.throughput['pairs_per_s'], prefix)
  return report


def save_sample_grid(model: Model, params, vgg_params, held_out: HeldOutSet, path: str):
  """Contact sheet of every held-out style x content (stylized only, not scored)."""
  result = evaluate_held_out(model, params, vgg_params, held_out, scores=False)
  if jax.process_index() == 0:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image_io.save_image(path, contact_sheet(held_out.contents, held_out.styles,
                                            result.outputs))


def contact_sheet(contents: np.ndarray, styles: np.ndarray, outputs: np.ndarray) -> np.ndarray:
  """Grid image: styles along the top, contents down the left, outputs[s, c] in the cells."""
  num_styles, num_contents, h, w = outputs.shape[:4]
  pad = 2
  sheet = np.ones(((num_contents + 1) * (h + pad), (num_styles + 1) * (w + pad), 3),
                  np.float32)

  def put(row, col, image):
    image = fit(np.asarray(image, np.float32), h, w)
    sheet[row * (h + pad):row * (h + pad) + h, col * (w + pad):col * (w + pad) + w] = image

  for s in range(num_styles):
    put(0, s + 1, styles[s])
  for c in range(num_contents):
    put(c + 1, 0, contents[c])
    for s in range(num_styles):
      put(c + 1, s + 1, outputs[s, c])
  return np.clip(sheet, 0.0, 1.0)


def fit(image: np.ndarray, h: int, w: int) -> np.ndarray:
  """Nearest-neighbour resize to exactly h x w (thumbnails only)."""
  rows = (np.arange(h) * image.shape[0] / h).astype(int)
  cols = (np.arange(w) * image.shape[1] / w).astype(int)
  return image[rows][:, cols]
