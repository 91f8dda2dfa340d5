"""Zero-shot inference: encode signals once, apply them to images of any size.

    stylizer = Stylizer.load('runs/tiny')             # a workdir or a checkpoint folder
    din = stylizer.encode_images([style_a, style_b])  # [S] signals -> DIN parameters
    out = stylizer.stylize(contents, din)             # [S, B, H, W, 3], one vmapped call

`transform_signals` is the jit-compiled function, vmapped over signals (and sharded over
the devices of a mesh for large sweeps) that evaluation uses too.

Very large images are stylized in tiles: each tile's window holds its core plus the
network's receptive radius (`tile_halo`) on every side, and only the cores are kept, so a
tile computes its core exactly as an untiled pass would, given the same statistics (no
seams, no blending). Instance normalization needs statistics of the *whole* image, so
every tile is normalized with whole-image statistics, from one of two sources:

- by default, one pass over the whole image downscaled so its long side is at most
  `stats_max_side` (1024; exact when the image is not larger). Cheap, but statistics of
  a downscaled pass are not those of the full resolution: the difference is global,
  never a seam, but not negligible (the test model on a 3000x2000 photo: mean abs
  difference 0.02 from an untiled pass);
- with `exact_stats=True`, the full-resolution statistics computed tile by tile, layer
  after layer (`exact_statistics`): the output equals an untiled pass (to 1e-6), at
  4-8x the time (3000x2000 on CPU with the test model: 64 s instead of 15 s).

Style images are encoded with their short side resized to `style_size` (default: the
model's `eval.style_size`), the scale the model was trained and evaluated at.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from zmnet_jax import checkpointing, data, image_io, models, sharding, vgg_weights
from zmnet_jax import model as model_lib
from zmnet_jax.train_state import init_train_state, make_optimizer

log = logging.getLogger(__name__)
STRIDE = 4  # TNet halves the resolution twice.


class InferenceError(ValueError):
  """A model or input that cannot be used; the message is one line for the user."""


# ----------------------------------------------------------------------------- core


def broadcast_din(din, batch: int):
  """DIN params of one signal ({layer: ([C], [C])}) repeated for `batch` images."""
  return jax.tree.map(lambda p: jnp.broadcast_to(p, (batch,) + p.shape), din)


def apply_tnet(model: model_lib.Model, params, contents: jax.Array, din_one, stats=None,
               mutable=False):
  """TNet on contents [B, H, W, 3] with one signal's DIN params ({layer: ([C], [C])}).

  `stats` ({layer: (mean, var)} [B, C]) replaces the images' own statistics.
  """
  tnet = models.TNet(model.net.tnet, model.net.dtype, stats=stats)
  return tnet.apply({'params': params['transformer']}, contents,
                    broadcast_din(din_one, contents.shape[0]), mutable=mutable)


def layer_inputs(model: model_lib.Model, params, contents: jax.Array, din_one, stats=None):
  """Every DIN layer's input {layer: [B, h, w, C]} for one signal (XLA keeps only those
  that the caller uses, and the layers they need)."""
  _, sown = apply_tnet(model, params, contents, din_one, stats,
                       mutable=[models.PRENORM_COLLECTION])
  inputs = sown[models.PRENORM_COLLECTION]
  return {name: inputs[f'{name}_input'] for name, _ in models.conditioned_layers(
      model.net.tnet)}


def stylize_all(model: model_lib.Model, params, contents: jax.Array, din, stats=None):
  """[S signals' DIN] x [B contents] -> [S, B, H, W, 3]: one vmap over the signals.

  `stats` ({layer: (mean, var)} with leading [S, B]) replaces the images' own statistics.
  """
  return jax.vmap(lambda d, s: apply_tnet(model, params, contents, d, s))(din, stats)


def signal_statistics(model: model_lib.Model, params, contents: jax.Array, din):
  """Each DIN layer's (mean, var) for every signal x content: leaves [S, B, C]."""
  def one_signal(d):
    return {name: models.instance_statistics(x)
            for name, x in layer_inputs(model, params, contents, d).items()}

  return jax.vmap(one_signal)(din)


def masked_moments(x: jax.Array, mask: jax.Array):
  """(count, mean, sum of squared deviations) of x [B, h, w, C] where `mask` is 1.

  `mask` [H, W] is at full resolution, a multiple of x's: it is subsampled to x's size.
  Each result is [B, C].
  """
  scale = mask.shape[0] // x.shape[1]
  m = mask[::scale, ::scale][None, :, :, None]
  x = x.astype(jnp.float32)
  count = jnp.sum(m)
  mean = jnp.sum(x * m, axis=(1, 2)) / count
  m2 = jnp.sum(m * jnp.square(x - mean[:, None, None, :]), axis=(1, 2))
  return jnp.broadcast_to(count, mean.shape), mean, m2


def layer_moments(model: model_lib.Model, layer: str, params, window: jax.Array,
                  mask: jax.Array, din, stats):
  """Moments of DIN layer `layer`'s input over a window's core, for every signal.

  The window [B, h, w, 3] goes through TNet up to `layer` only (XLA drops the rest),
  normalized with `stats` ({layer: (mean, var)}, leaves [S, B, C]) in the layers before
  it; `mask` [h, w] marks the core. Returns (count, mean, m2), each [S, B, C].
  """
  def one_signal(d, s):
    return masked_moments(layer_inputs(model, params, window, d, s)[layer], mask)

  return jax.vmap(one_signal)(din, stats)


def merge_moments(a, b):
  """Chan et al.'s parallel merge of two (count, mean, m2) triples."""
  (na, mean_a, m2a), (nb, mean_b, m2b) = a, b
  n = na + nb
  delta = mean_b - mean_a
  return n, mean_a + delta * nb / n, m2a + m2b + delta ** 2 * na * nb / n


def exact_statistics(model: model_lib.Model, params, padded: np.ndarray, din,
                     tiles: Sequence[Tile]):
  """The DIN statistics of an untiled pass over `padded`, computed tile by tile.

  Layer by layer: layer k's input is computed on every tile with the exact statistics
  of layers 1..k-1 already found, and its moments are merged over the tile cores (in
  float64). Costs one tiled pass up to each DIN layer: 3-7x a whole pass, more for
  deeper TNets. Returns {layer: (mean, var)} with leaves [S, B, C].
  """
  windows = [padded[(slice(None),) + tile.window] for tile in tiles]
  masks = [core_mask(tile) for tile in tiles]
  stats = {}
  layers = models.conditioned_layers(model.net.tnet)
  for k, (name, _) in enumerate(layers):
    log.info('exact tiled statistics: layer %d/%d (%s)', k + 1, len(layers), name)
    total = None
    for window, mask in zip(windows, masks):
      part = _layer_moments(model, name, params, jnp.asarray(window), jnp.asarray(mask),
                            din, stats)
      part = tuple(np.asarray(v, np.float64) for v in part)
      total = part if total is None else merge_moments(total, part)
    count, mean, m2 = total
    stats[name] = (mean.astype(np.float32), (m2 / count).astype(np.float32))
  return stats


@functools.partial(jax.jit, static_argnums=(0, 1))
def _layer_moments(model, layer, params, window, mask, din, stats):
  return layer_moments(model, layer, params, window, mask, din, stats)


@functools.partial(jax.jit, static_argnums=0)
def _transform(model, params, contents, din, stats):
  return stylize_all(model, params, contents, din, stats)


@functools.partial(jax.jit, static_argnums=0)
def _statistics(model, params, contents, din):
  return signal_statistics(model, params, contents, din)


def transform_signals(model: model_lib.Model, params, contents, din, stats=None, mesh=None):
  """Jitted `stylize_all`; with a mesh the signal axis is split over its 'data' devices."""
  if mesh is None:
    return _transform(model, params, contents, din, stats)
  devices = mesh.shape[sharding.DATA_AXIS]
  num_signals = jax.tree.leaves(din)[0].shape[0]
  padded = -(-num_signals // devices) * devices
  if padded != num_signals:  # Pad on the host: no small cross-device programs.
    pad = lambda x: np.concatenate(
        [np.asarray(x), np.repeat(np.asarray(x)[-1:], padded - num_signals, axis=0)])
    din, stats = jax.tree.map(pad, din), jax.tree.map(pad, stats)
  split = sharding.batch_sharding(mesh)
  din = jax.device_put(din, split)
  stats = jax.device_put(stats, split) if stats is not None else None
  out = _transform(model, params, jax.device_put(contents, sharding.replicated(mesh)), din,
                   stats)
  return out if padded == num_signals else out[:num_signals]


# ----------------------------------------------------------------------------- sizes


def pad_to_stride(images: np.ndarray, stride: int = STRIDE) -> tuple[np.ndarray, tuple]:
  """Reflect-pads [B, H, W, 3] so H and W are multiples of `stride` (at least 8)."""
  h, w = images.shape[1:3]
  ph, pw = max(-(-h // stride) * stride, 8) - h, max(-(-w // stride) * stride, 8) - w
  mode = 'reflect' if min(h, w) > max(ph, pw) else 'edge'
  padded = np.pad(images, ((0, 0), (0, ph), (0, pw), (0, 0)), mode=mode)
  return padded, (h, w)


def tile_halo(config: models.TNetConfig) -> int:
  """Context pixels around a tile's core: TNet's receptive radius, a multiple of STRIDE."""
  return -(-models.receptive_radius(config) // STRIDE) * STRIDE


def tile_windows(length: int, tile: int, halo: int) -> list[tuple[int, int, int]]:
  """(window start, core start, core end) along one axis, for tiles `tile` long.

  The cores partition [0, length); each window holds its core plus `halo` pixels on
  either side (or reaches the image edge), so a network whose receptive radius is at
  most `halo` computes the core exactly as an untiled pass does. All windows have the
  same length (one compile); with `length` and `tile` multiples of STRIDE, so are the
  starts. Needs `tile >= 4 * halo` (cores at least twice the halo).
  """
  if length <= tile:
    return [(0, 0, length)]
  if tile < 4 * halo:
    raise ValueError(f'tiles of {tile} px are too small for a {halo} px halo (need '
                     f'{4 * halo})')
  core = tile - 2 * halo
  return [(min(max(start - halo, 0), length - tile), start, min(start + core, length))
          for start in range(0, length, core)]


class Tile(NamedTuple):
  """One tile as (rows, columns) slices: its window in the image, its core in the image,
  and its core in the window."""
  window: tuple[slice, slice]
  core: tuple[slice, slice]
  core_in_window: tuple[slice, slice]


def core_mask(tile: Tile) -> np.ndarray:
  """1 on the tile's core and 0 on its halo, at the size of its window."""
  rows, cols = tile.window
  mask = np.zeros((rows.stop - rows.start, cols.stop - cols.start), np.float32)
  mask[tile.core_in_window] = 1.0
  return mask


def image_tiles(height: int, width: int, tile: int, halo: int) -> list[Tile]:
  """Row-major tiles of an image whose cores partition it (see `tile_windows`)."""
  def axis(length):
    size = min(tile, length)
    return [(slice(w, w + size), slice(c0, c1), slice(c0 - w, c1 - w))
            for w, c0, c1 in tile_windows(length, tile, halo)]
  return [Tile(*zip(ys, xs)) for ys in axis(height) for xs in axis(width)]


def downscale(images: np.ndarray, max_side: int) -> np.ndarray:
  """Area-resizes [B, H, W, 3] so the long side is at most `max_side` (multiple of 4)."""
  h, w = images.shape[1:3]
  scale = max_side / max(h, w)
  if scale >= 1:
    return images
  size = (max(8, int(round(h * scale / STRIDE)) * STRIDE),
          max(8, int(round(w * scale / STRIDE)) * STRIDE))
  return np.asarray(jax.image.resize(images, (images.shape[0],) + size + (3,), 'linear',
                                     antialias=True))


def resize_short_side(images: np.ndarray, size: int) -> np.ndarray:
  """Resizes [B, H, W, 3] in [0, 1] (antialiased cubic) so the short side is `size`.

  Up or down, like training's `data.style_resize_short_side` (no crop: the style
  encoder pools globally, so any aspect ratio works).
  """
  h, w = images.shape[1:3]
  new_h, new_w = image_io.scaled_shape(h, w, size)
  if (new_h, new_w) == (h, w):
    return images
  out = jax.image.resize(images, (images.shape[0], new_h, new_w, 3), 'cubic', antialias=True)
  return np.clip(np.asarray(out), 0.0, 1.0)


# ----------------------------------------------------------------------------- colour


def _yiq_matrix() -> np.ndarray:
  return np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
                  np.float64)


def rgb_to_yiq(x):
  return x @ _yiq_matrix().T.astype(np.float32)


def yiq_to_rgb(x):
  """The exact inverse of `rgb_to_yiq` (the rounded textbook matrix is off by ~2e-3)."""
  return x @ np.linalg.inv(_yiq_matrix()).T.astype(np.float32)


def preserve_color(content: np.ndarray, stylized: np.ndarray) -> np.ndarray:
  """Luminance of the stylized image with the chroma (I, Q) of the content (Gatys 2016)."""
  yiq = rgb_to_yiq(np.asarray(stylized, np.float32))
  yiq[..., 1:] = rgb_to_yiq(np.broadcast_to(np.asarray(content, np.float32),
                                            stylized.shape))[..., 1:]
  return np.clip(yiq_to_rgb(yiq), 0.0, 1.0)


# ----------------------------------------------------------------------------- loading


def resolve_model_path(path: str) -> tuple[str, str, int | None]:
  """(config.json, checkpoints folder, step or None) for a workdir or checkpoint path."""
  path = os.path.abspath(path.rstrip('/'))
  if not os.path.exists(path):
    raise InferenceError(f'{path}: model not found (give a training workdir or a '
                         f'checkpoint folder)')
  candidates = [(path, os.path.join(path, 'checkpoints'), None),
                (os.path.dirname(path), path, None)]
  base = os.path.basename(path)
  if base.isdigit():
    candidates.append((os.path.dirname(os.path.dirname(path)), os.path.dirname(path),
                       int(base)))
  for workdir, ckpt_dir, step in candidates:
    config_path = os.path.join(workdir, checkpointing.CONFIG_FILE)
    if os.path.isfile(config_path) and os.path.isdir(ckpt_dir):
      return config_path, ckpt_dir, step
  raise InferenceError(f'{path}: no {checkpointing.CONFIG_FILE} with a checkpoints/ '
                       f'folder beside it; is this a training workdir?')


def _build(config, config_path: str):
  """(Model, VGG params, abstract train state) of a config; bad values -> InferenceError."""
  try:
    model, vgg_params = model_lib.build_model(config)
    return model, vgg_params, abstract_train_state(model, config, vgg_params)
  except vgg_weights.WeightsError:
    raise
  except (ValueError, TypeError, KeyError, AttributeError) as e:
    reason = ' '.join(str(e).split())[:300] or type(e).__name__
    raise InferenceError(f'{config_path}: unusable model config ({reason})') from e


def abstract_train_state(model, config, vgg_params):
  tx, _ = make_optimizer(config.optim, config.train.num_steps)
  shapes = data.batch_shapes(config, 1)
  return jax.eval_shape(lambda: init_train_state(model, tx, jax.random.PRNGKey(0),
                                                 vgg_params, shapes))


# ----------------------------------------------------------------------------- API


@dataclasses.dataclass
class Stylizer:
  """A trained ZM-Net with its frozen VGG, ready to encode signals and stylize."""
  model: model_lib.Model
  params: dict
  vgg_params: dict
  config: ml_collections.ConfigDict
  step: int = 0
  mesh: object = None

  @classmethod
  def load(cls, path: str, dtype: str | None = None, mesh=None) -> 'Stylizer':
    """From a training workdir, its checkpoints/ folder or one step's folder."""
    config_path, ckpt_dir, step = resolve_model_path(path)
    try:
      config = checkpointing.load_config(config_path)
    except (OSError, ValueError) as e:
      raise InferenceError(f'{config_path}: unreadable config ({e})') from e
    if dtype:
      config.dtype = dtype
    model, vgg_params, abstract = _build(config, config_path)
    ckpt = checkpointing.Checkpointer(ckpt_dir, 0, 1_000_000)
    try:
      state, step = ckpt.restore_state(abstract, step)
    except (FileNotFoundError, checkpointing.CheckpointUnreadable) as e:
      raise InferenceError(str(e)) from e
    except checkpointing.CheckpointMismatch as e:
      raise InferenceError(f'{ckpt_dir}: checkpoint does not match {config_path} '
                           f'({e})') from e
    finally:
      ckpt.close()
    return cls(model, state.params, vgg_params, config, int(step), mesh)

  @property
  def signal_kind(self) -> str:
    return self.model.signal_kind

  def encode_images(self, styles: Sequence[np.ndarray], style_size: int | None = None):
    """Style images (each [H, W, 3] in [0, 1], any size) -> DIN params with leading [S].

    Each image is first resized so its short side is `style_size` (default: the model's
    `eval.style_size`, the scale it was trained at); styles of one shape share a compile.
    """
    self._require('image')
    size = style_size or self.config.eval.style_size
    dins = []
    for style in styles:
      style = resize_short_side(np.asarray(style, np.float32)[None], size)
      dins.append(self._encode(jnp.asarray(style)))
    return jax.tree.map(lambda *xs: jnp.concatenate(xs), *dins)

  def encode_vectors(self, vectors: np.ndarray):
    """Signal vectors [S, D] -> DIN params with leading [S]."""
    self._require('vector')
    vectors = np.asarray(vectors, np.float32)
    dim = self.config.model.pnet.get('signal_dim') or None
    if vectors.ndim != 2 or (dim and vectors.shape[1] != dim):
      raise InferenceError(f'signal vectors must be shaped [S, {dim or "D"}], got '
                           f'{list(vectors.shape)}')
    if not np.all(np.isfinite(vectors)):
      raise InferenceError('signal vectors contain NaN or infinite values')
    return self._encode(jnp.asarray(vectors))

  def _encode(self, signal):
    return encode_signals(self.model, self.params, self.vgg_params, signal)

  def _require(self, kind: str) -> None:
    if self.signal_kind != kind:
      raise InferenceError(f'this model was trained on {self.signal_kind} signals, not '
                           f'{kind} signals')

  def with_strength(self, din, contents: np.ndarray, strength: float,
                    style_size: int | None = None):
    """Per (signal, content) DIN params moved from the content's own (0) to the style's (1).

    Returns leaves shaped [S, B, C]: interpolation needs each content's own parameters,
    which only image-signal models can compute.
    """
    if not 0.0 <= strength <= 1.0:
      raise InferenceError(f'strength must be in [0, 1], got {strength}')
    if self.signal_kind != 'image':
      raise InferenceError(f'a strength below 1 needs an image-signal model (the content '
                           f'is its own style at 0); this one takes {self.signal_kind} '
                           f'signals')
    own = self.encode_images(list(contents), style_size)  # [B]
    return jax.tree.map(
        lambda s, o: strength * s[:, None] + (1.0 - strength) * o[None], din, own)

  def stylize(self, contents: np.ndarray, din, *, tile_size: int = 1024,
              stats_max_side: int = 1024, exact_stats: bool = False,
              preserve_colors: bool = False) -> np.ndarray:
    """Contents [B, H, W, 3] in [0, 1] x DIN params [S] (or [S, B]) -> [S, B, H, W, 3].

    Any H, W (reflect-padded to a multiple of 4 and cropped back). Images larger than
    `tile_size` go through tiles (at least 4 x `tile_halo` pixels square) normalized
    with whole-image statistics: those of one pass downscaled to at most
    `stats_max_side`, or with `exact_stats` those of the full resolution, computed tile
    by tile (4-8x slower; the output then equals an untiled pass).
    """
    contents = np.asarray(contents, np.float32)
    if contents.ndim != 4 or contents.shape[-1] != 3:
      raise InferenceError(f'contents must be [B, H, W, 3], got {contents.shape}')
    options = dict(tile_size=tile_size, stats_max_side=stats_max_side,
                   exact_stats=exact_stats, preserve_colors=preserve_colors)
    if jax.tree.leaves(din)[0].ndim == 3:  # Per-content parameters: one content at a time.
      outs = [self.stylize(contents[i:i + 1], jax.tree.map(lambda x, i=i: x[:, i], din),
                           **options)
              for i in range(contents.shape[0])]
      return np.concatenate(outs, axis=1)
    padded, (h, w) = pad_to_stride(contents)
    if max(padded.shape[1:3]) <= tile_size:
      out = np.asarray(transform_signals(self.model, self.params, jnp.asarray(padded), din,
                                         None, self.mesh))
    else:
      out = self._stylize_tiled(padded, din, tile_size, stats_max_side, exact_stats)
    out = out[:, :, :h, :w]
    if preserve_colors:
      out = preserve_color(contents[None], out)
    return out

  def _stylize_tiled(self, padded, din, tile_size, stats_max_side, exact_stats):
    halo = tile_halo(self.model.net.tnet)
    tiles = image_tiles(*padded.shape[1:3], max(tile_size // STRIDE * STRIDE, 4 * halo),
                        halo)
    small = downscale(padded, stats_max_side)
    if exact_stats and small.shape != padded.shape:
      stats = exact_statistics(self.model, self.params, padded, din, tiles)
    else:
      stats = _statistics(self.model, self.params, jnp.asarray(small), din)
    num_signals = jax.tree.leaves(din)[0].shape[0]
    out = np.zeros((num_signals,) + padded.shape, np.float32)
    for tile in tiles:
      window = jnp.asarray(padded[(slice(None),) + tile.window])
      tile_out = np.asarray(transform_signals(self.model, self.params, window, din, stats,
                                              self.mesh))
      out[(slice(None), slice(None)) + tile.core] = tile_out[
          (slice(None), slice(None)) + tile.core_in_window]
    return out


@functools.partial(jax.jit, static_argnums=0)
def encode_signals(model, params, vgg_params, signal):
  """Jitted signal -> DIN parameters (style images [S, H, W, 3] or vectors [S, D])."""
  return model.encode(params, vgg_params, signal)


def mix(din, weights: Sequence[float]):
  """One signal's DIN params from a weighted mixture of the [S] signals in `din`."""
  num = jax.tree.leaves(din)[0].shape[0]
  if len(weights) != num:
    raise InferenceError(f'--mix needs one weight per style ({num}), got {len(weights)}')
  parts = [jax.tree.map(lambda x, i=i: x[i], din) for i in range(num)]
  try:
    mixed = models.mix_din_params(parts, list(weights))
  except ValueError as e:
    raise InferenceError(str(e)) from e
  return jax.tree.map(lambda x: x[None], mixed)
