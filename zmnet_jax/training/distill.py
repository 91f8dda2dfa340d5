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

"""Distilling a model's style encoder into the fast one (`models.fast_encoder`).

1. **Targets.** For each training image (a seeded draw from each folder: paintings and
   textures, and photos, which are styles too and sharp at full size), the teacher's
   embedding: the model's own encoder on the image's central square at `eval.style_size`
   (VGG19 to relu4_1, the slow part), stored with the same square at the student's
   side. They are kept in an `.npz` (`TARGETS_KEYS`) written as they come, so an interrupted run resumes
   where it stopped and a longer one extends it.
2. **Training.** Adam(W) on the normalized-MSE between the student's output and the
   targets (each embedding dimension scaled to unit variance), horizontal flips; 10% of
   the styles held out for R^2, and optionally the held-out paintings' R^2.
3. **Output.** The teacher's params file with the student beside its params
   (`fast_encoder/...`), its shape in `model.fast_encoder`, and its scores in the card.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from zmnet_jax import files, params_file, progress
from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.infer import loading, signal_inputs, stylizer as stylizer_lib
from zmnet_jax.models import fast_encoder

TARGETS_KEYS = ('small', 'emb', 'paths')  # uint8 [N, s, s, 3], float32 [N, E], str [N]
HELD_OUT_EVERY = 10  # every 10th style of the draw is held out of training
SAVE_EVERY_S = 600  # targets computed since the last save are at most this old


class DistillError(ValueError):
  """Inputs that cannot be distilled from; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Options:
  """What to distil: how many styles, how long, how wide."""

  num_styles: int = 2000
  steps: int = 3000
  batch: int = 32
  learning_rate: float = 2e-3
  seed: int = 0
  encoder: fast_encoder.FastEncoderConfig = fast_encoder.FastEncoderConfig()


@dataclasses.dataclass
class Targets:
  """Student-side styles [N, s, s, 3] uint8, the teacher's embeddings [N, E], and paths."""

  small: np.ndarray
  emb: np.ndarray
  paths: list[str]

  def __len__(self) -> int:
    return len(self.paths)


def draw_styles(folders: Sequence[str], count: int, seed: int) -> list[str]:
  """Up to `count` image files of each folder (recursive), each folder in a seeded random
  order (so a larger `count` keeps the earlier draw)."""
  drawn = []
  for folder in folders:
    paths = image_files.list_images(folder)  # ImageError if there are none
    order = np.random.default_rng(seed).permutation(len(paths))
    drawn += [paths[i] for i in order[:count]]
  return drawn


def read_targets(path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """{style path: (small, emb)} of a targets file ({} if it does not exist)."""
  if not os.path.exists(path):
    return {}
  try:
    with np.load(path) as data:
      small, emb, paths = (data[k] for k in TARGETS_KEYS)
  except (OSError, ValueError, KeyError) as e:
    raise DistillError(f'{path}: not a targets file ({e})') from e
  return {str(p): (s, e) for p, s, e in zip(paths, small, emb, strict=True)}


def write_targets(path: str, found: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
  """All targets found so far, atomically."""
  names = list(found)
  with files.atomic_path(path) as tmp, open(tmp, 'wb') as f:
    np.savez(
      f,
      small=np.stack([found[n][0] for n in names]),
      emb=np.stack([found[n][1] for n in names]).astype(np.float32),
      paths=np.array(names),
    )


def teacher_targets(
  teacher: stylizer_lib.Stylizer, paths: Sequence[str], size: int, cache: str
) -> Targets:
  """The teacher's embeddings of `paths` (read from `cache` where it has them, the rest
  computed in batches of 4 and saved there every `SAVE_EVERY_S`)."""
  found = read_targets(cache)
  missing = [p for p in paths if p not in found]
  style_size = int(teacher.config.eval.style_size)
  saved, unsaved = time.monotonic(), 0
  try:
    with progress.bar(len(missing), 'style', 'teacher targets') as bar:
      for start in range(0, len(missing), 4):
        chunk = missing[start : start + 4]
        squares = [image_arrays.square(image_files.load_image(p), style_size) for p in chunk]
        batch = np.concatenate([signal_inputs.style_array(s, style_size) for s in squares])
        embeddings = np.asarray(teacher.embed(batch))
        for p, s, e in zip(chunk, squares, embeddings, strict=True):
          found[p] = (image_arrays.resize_short_side(s, size), e)
        bar.update(len(chunk))
        unsaved += len(chunk)
        if time.monotonic() - saved > SAVE_EVERY_S:
          write_targets(cache, found)
          saved, unsaved = time.monotonic(), 0
  finally:  # also when interrupted: what was computed is kept
    if unsaved:
      write_targets(cache, found)
  return Targets(
    np.stack([found[p][0] for p in paths]), np.stack([found[p][1] for p in paths]), list(paths)
  )


def r_squared(predicted: np.ndarray, target: np.ndarray, mean: np.ndarray) -> float:
  """1 - residual / total sum of squares (about the training targets' mean)."""
  return float(1 - np.sum((predicted - target) ** 2) / np.sum((target - mean) ** 2))


def as_float(small: np.ndarray) -> np.ndarray:
  return small.astype(np.float32) / 255.0


def train_student(targets: Targets, options: Options, log: Callable[[str], None] = print):
  """(params predicting embeddings directly, report dict) of a student trained on
  `targets` (every `HELD_OUT_EVERY`-th held out for the report's R^2)."""
  held = np.arange(len(targets)) % HELD_OUT_EVERY == 0
  train_idx = np.flatnonzero(~held)
  if len(train_idx) < options.batch:
    raise DistillError(f'{len(train_idx)} training styles is fewer than a batch of {options.batch}')
  mean = targets.emb[train_idx].mean(0)
  std = targets.emb[train_idx].std(0) + 1e-6
  model = fast_encoder.FastStyleEncoder(targets.emb.shape[1], options.encoder)
  side = targets.small.shape[1]
  params = model.init(jax.random.key(options.seed), jnp.zeros((1, side, side, 3)))
  start = time.monotonic()
  params, loss = fit_student(model, params, targets, train_idx, (mean, std), options)
  final = fast_encoder.with_output_scale(params, mean, std)
  predict = embed_function(targets.emb.shape[1], options.encoder)
  report = {
    'styles': int(len(train_idx)),
    'steps': options.steps,
    'batch': options.batch,
    'seconds': round(time.monotonic() - start, 1),
    'final_loss': float(loss),
    'r2_held_out_training_styles': r_squared(
      predict_all(predict, final, targets.small[held]), targets.emb[held], mean
    ),
  }
  log(
    f'student: loss {report["final_loss"]:.4f}, R^2 on {int(held.sum())} held-out '
    f'training styles {report["r2_held_out_training_styles"]:.3f}'
  )
  return final, report


def fit_student(model, params, targets: Targets, train_idx, scale, options: Options):
  """(params, last loss) after `options.steps` AdamW steps on random flipped batches of the
  training styles, regressing their embeddings standardized by `scale` (mean, std)."""
  mean, std = scale
  schedule = optax.warmup_cosine_decay_schedule(
    0.0,
    options.learning_rate,
    min(100, options.steps // 10 + 1),
    options.steps,
    1e-2 * options.learning_rate,
  )
  optimizer = optax.adamw(schedule, weight_decay=1e-4)

  @jax.jit
  def step(p, s, x, y):
    loss_fn = lambda p: jnp.mean(jnp.square(model.apply(p, x) - (y - mean) / std))
    loss, grads = jax.value_and_grad(loss_fn)(p)
    updates, s = optimizer.update(grads, s, p)
    return optax.apply_updates(p, updates), s, loss

  rng = np.random.default_rng(options.seed)
  opt_state, loss = optimizer.init(params), jnp.nan
  with progress.bar(options.steps, 'step', 'student') as bar:
    for _ in range(options.steps):
      pick = rng.choice(train_idx, options.batch)
      x = as_float(targets.small[pick])
      flip = rng.random(options.batch) < 0.5
      x[flip] = x[flip, :, ::-1]
      params, opt_state, loss = step(params, opt_state, x, targets.emb[pick])
      bar.update(1)
  return params, loss


def embed_function(embedding_dim: int, config: fast_encoder.FastEncoderConfig):
  """jitted (params, styles [N, s, s, 3] float) -> embeddings."""
  return jax.jit(fast_encoder.FastStyleEncoder(embedding_dim, config).apply)


def predict_all(predict, params, small: np.ndarray, batch: int = 50) -> np.ndarray:
  """Embeddings of uint8 styles, in batches (the last padded to one compiled shape)."""
  out = []
  for start in range(0, len(small), batch):
    chunk = small[start : start + batch]
    padded = image_arrays.pad_with_last(as_float(chunk), batch)
    out.append(np.asarray(predict(params, padded))[: len(chunk)])
  return np.concatenate(out)


def save_with_student(
  source: loading.ModelSource, student, encoder: fast_encoder.FastEncoderConfig, report, out
) -> str:
  """The teacher's params file with the student added (params, config, card)."""
  config, params, card, vocab = params_file.load(source.params_path)
  params = {k: v for k, v in params.items() if k != fast_encoder.PARAMS_KEY}
  params[fast_encoder.PARAMS_KEY] = jax.tree.map(np.asarray, student['params'])
  config['model']['fast_encoder'] = dataclasses.asdict(encoder)
  card = {**card, 'fast_encoder': report}
  return params_file.save(out, params, config, card, vocab)


def distill(model: str | None, styles: Sequence[str], out: str, options: Options, **paths) -> dict:
  """Distils `model`'s style encoder on the images of the folders `styles` into `out` (a
  params file); returns the report. `paths`: `targets` (the targets cache, default `out` + '.targets.npz') and
  `val_styles` (a folder scored for R^2 only, never trained on)."""
  source = loading.resolve_model_path(model)
  if not source.is_file:
    raise DistillError(
      f'{source.path}: distil from a params file (export the workdir first: zmnet-export)'
    )
  files.check_not_input(out, [source.params_path])
  teacher = stylizer_lib.Stylizer.load(source.params_path)
  if teacher.signal_kind != 'image':
    raise DistillError(f'{source.path}: a {teacher.signal_kind}-signal model has no style encoder')
  cache = paths.get('targets') or out + '.targets.npz'
  size = options.encoder.size
  drawn = draw_styles(styles, options.num_styles, options.seed)
  val_paths = image_files.list_images(paths['val_styles']) if paths.get('val_styles') else []
  shared = {os.path.realpath(p) for p in drawn} & {os.path.realpath(p) for p in val_paths}
  if shared:
    raise DistillError(
      f'{sorted(shared)[0]}: a --val-styles image is among the training images '
      f'({len(shared)} in all); held-out styles must stay held out'
    )
  targets = teacher_targets(teacher, drawn, size, cache)
  student, report = train_student(targets, options)
  if val_paths:
    val = teacher_targets(teacher, val_paths, size, cache + '.val.npz')
    predict = embed_function(targets.emb.shape[1], options.encoder)
    mean = targets.emb.mean(0)
    report['r2_val_styles'] = r_squared(predict_all(predict, student, val.small), val.emb, mean)
    print(f'student: R^2 on {len(val)} held-out paintings {report["r2_val_styles"]:.3f}')
  report['teacher_style_size'] = int(teacher.config.eval.style_size)
  save_with_student(source, student, options.encoder, report, out)
  return report
