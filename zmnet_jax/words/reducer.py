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

"""A 2-D (or k-D) affine reduction of word vectors, fitted by PCA, JSON round-trip exact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from zmnet_jax.words.embedders import TextError


class Reducer:
  """An affine map x -> (x - mean) @ components.T, or the identity (both None).

  Build with `Reducer.fit` or `Reducer.identity()`; `to_dict`/`from_dict` round-trip
  through JSON exactly (parameters are float64, outputs float32).
  """

  def __init__(
    self,
    mean: np.ndarray | None = None,
    components: np.ndarray | None = None,
    method: str = 'identity',
  ):
    if (mean is None) != (components is None):
      raise TextError('reducer needs both mean and components, or neither')
    self.method = method
    self.mean = None if mean is None else np.asarray(mean, np.float64)
    self.components = None if components is None else np.asarray(components, np.float64)
    if self.components is not None and (
      self.components.ndim != 2 or self.mean.shape != self.components.shape[1:]
    ):
      raise TextError(
        f'reducer components {self.components.shape} do not match mean {self.mean.shape}'
      )
    if self.components is not None and not (
      np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.components))
    ):
      raise TextError('reducer mean and components must be finite')

  @classmethod
  def identity(cls) -> Reducer:
    return cls()

  @property
  def is_identity(self) -> bool:
    return self.components is None

  @property
  def out_dim(self) -> int | None:
    """Output size; None for the identity (output size = input size)."""
    return None if self.is_identity else int(self.components.shape[0])

  @classmethod
  def fit(
    cls,
    vectors: np.ndarray,
    out_dim: int,
    method: str = 'pca',
    background: np.ndarray | None = None,
  ) -> Reducer:
    """PCA (numpy SVD) of the training vectors, plus optional background vectors.

    The mean and principal axes come from all rows given. When those rows span fewer
    than `out_dim` directions (e.g. 2 training words -> 1 axis), the remaining axes
    are, in order, the part of the rows' mean direction orthogonal to the axes so far
    (how 'on-topic' a new word is), then standard basis vectors: deterministic and
    stable. Two distinct training words thus land at +-d/2 on the first axis. Each
    axis's sign makes its largest-magnitude entry positive.
    """
    if method != 'pca':
      raise TextError(f"reducer method must be 'pca', got {method!r}")
    x = np.asarray(vectors, np.float64)
    if background is not None:
      x = np.concatenate([x, np.asarray(background, np.float64)])
    if x.ndim != 2 or not x.shape[0] or not np.all(np.isfinite(x)):
      raise TextError(f'reducer needs finite [N, D] vectors, got shape {x.shape}')
    if not 1 <= out_dim <= x.shape[1]:
      raise TextError(f'reducer out_dim must be in 1..{x.shape[1]}, got {out_dim}')
    mean = x.mean(axis=0)
    axes = _principal_axes(x - mean, out_dim)
    axes = _complete_basis(axes, [mean] + list(np.eye(x.shape[1])), out_dim)
    return cls(mean, np.stack([_fix_sign(a) for a in axes]), method)

  def transform(self, vectors: np.ndarray) -> np.ndarray:
    """float32 [..., out_dim] (the input as float32 for the identity)."""
    x = np.asarray(vectors, np.float64)
    if self.is_identity:
      return x.astype(np.float32)
    if x.shape[-1:] != self.mean.shape:
      raise TextError(f'reducer expects {self.mean.shape[0]}-d vectors, got shape {x.shape}')
    return ((x - self.mean) @ self.components.T).astype(np.float32)

  def to_dict(self) -> dict:
    if self.is_identity:
      return {'method': 'identity'}
    return {
      'method': self.method,
      'mean': self.mean.tolist(),
      'components': self.components.tolist(),
    }

  @classmethod
  def from_dict(cls, data: Mapping) -> Reducer:
    data = data if isinstance(data, Mapping) else {}
    if data.get('method') == 'identity':
      return cls()
    if data.get('method') != 'pca' or 'mean' not in data or 'components' not in data:
      raise TextError(
        f"bad reducer dict: expected method 'identity', or 'pca' with mean and "
        f'components; got keys {sorted(data)}'
      )
    try:
      return cls(
        np.array(data['mean'], np.float64), np.array(data['components'], np.float64), 'pca'
      )
    except (TypeError, ValueError) as e:
      raise TextError(f'bad reducer dict: {e}') from e


def _principal_axes(centered: np.ndarray, out_dim: int) -> list[np.ndarray]:
  _, s, vt = np.linalg.svd(centered, full_matrices=False)
  # Relative tolerance at float32 resolution: the embeddings are float32.
  rank = int(np.sum(s > max(1e-6 * (s[0] if s.size else 0.0), 1e-12)))
  return list(vt[: min(rank, out_dim)])


def _complete_basis(
  axes: list[np.ndarray], candidates: Sequence[np.ndarray], out_dim: int
) -> list[np.ndarray]:
  """Gram-Schmidt: adds candidates (in order) until there are out_dim orthonormal axes."""
  axes = list(axes)
  for c in candidates:
    if len(axes) >= out_dim:
      break
    r = np.asarray(c, np.float64)
    for _ in range(2):  # Twice for numerical orthogonality.
      for a in axes:
        r = r - (r @ a) * a
    if np.linalg.norm(r) > 1e-6 * max(1.0, np.linalg.norm(c)):
      axes.append(r / np.linalg.norm(r))
  return axes


def _fix_sign(axis: np.ndarray) -> np.ndarray:
  return axis if axis[np.argmax(np.abs(axis))] >= 0 else -axis
