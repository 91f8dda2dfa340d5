"""Held-out evaluation: every style x every content, vmapped over style signals.

This is the one evaluation code path: training's periodic/final evaluation and sample grids
call it, and so does the `evaluate` command.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from zmnet_jax import image_io, inference, input_pipeline, losses
from zmnet_jax.model import Model

log = logging.getLogger(__name__)


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


def pair_scores(model: Model, vgg_params, outputs, contents, styles):
  """Per-pair content loss and Gram / mean-std style losses: each [S, B]."""
  num_styles, batch = outputs.shape[:2]
  flat = outputs.reshape((num_styles * batch,) + outputs.shape[2:])
  out_feats = model.vgg_features(vgg_params, flat)
  content_feats = model.vgg_features(vgg_params, contents)
  style_feats = model.vgg_features(vgg_params, styles)
  tiled_content = jax.tree.map(lambda f: jnp.tile(f, (num_styles, 1, 1, 1)), content_feats)
  repeated_style = jax.tree.map(lambda f: jnp.repeat(f, batch, axis=0), style_feats)
  weights = model.loss
  content = sum(losses.content_terms(out_feats, tiled_content,
                                     weights.content_weights).values())
  scores = {'content_loss': content}
  for kind in ('gram', 'mean_std'):
    terms = losses.style_terms(out_feats, repeated_style, weights.style_weights, kind)
    scores[f'style_loss_{kind}'] = sum(terms.values())
  return {k: v.reshape(num_styles, batch) for k, v in scores.items()}


@functools.partial(jax.jit, static_argnums=0)
def _pair_scores(model: Model, vgg_params, outputs, contents, styles):
  return pair_scores(model, vgg_params, outputs, contents, styles)


def evaluate_held_out(model: Model, params, vgg_params, held_out: HeldOutSet,
                      batch_styles: int = 4, mesh=None):
  """Stylizes every content with every style; returns outputs [S, B, ...] and scores.

  Styles go through in chunks of `batch_styles` signals; with a mesh each chunk's signals
  are split over its 'data' devices.
  """
  contents = jnp.asarray(held_out.contents)
  outputs, scores = [], []
  for start in range(0, len(held_out.styles), batch_styles):
    chunk = jnp.asarray(held_out.styles[start:start + batch_styles])
    din = inference.encode_signals(model, params, vgg_params, chunk)
    out = inference.transform_signals(model, params, contents, din, mesh=mesh)
    scores.append(jax.device_get(_pair_scores(model, vgg_params, out, contents, chunk)))
    outputs.append(np.asarray(out))
  merged = {k: np.concatenate([s[k] for s in scores]) for k in scores[0]}
  return np.concatenate(outputs), merged


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
  outputs, scores = evaluate_held_out(model, params, vgg_params, held_out,
                                      eval_config.batch_styles, mesh)
  report = {'step': step, 'num_contents': len(held_out.content_names),
            'num_styles': len(held_out.style_names)}
  report.update(summarize(scores, held_out.style_names))
  report['pairs'] = [
      dict(content=c, style=s, **{k: float(v[i, j]) for k, v in scores.items()})
      for i, s in enumerate(held_out.style_names)
      for j, c in enumerate(held_out.content_names)]
  if jax.process_index() == 0:
    os.makedirs(os.path.dirname(prefix) or '.', exist_ok=True)
    with open(prefix + '.json', 'w') as f:
      json.dump(report, f, indent=2)
    image_io.save_image(prefix + '.png',
                        contact_sheet(held_out.contents, held_out.styles, outputs))
    log.info('evaluation at step %d: content %.4g, style (Gram) %.4g over %d pairs -> %s.json',
             step, report['mean_content_loss'], report['mean_style_loss_gram'],
             len(report['pairs']), prefix)
  return report


def save_sample_grid(model: Model, params, vgg_params, held_out: HeldOutSet, path: str):
  outputs, _ = evaluate_held_out(model, params, vgg_params, held_out)
  if jax.process_index() == 0:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image_io.save_image(path, contact_sheet(held_out.contents, held_out.styles, outputs))


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
