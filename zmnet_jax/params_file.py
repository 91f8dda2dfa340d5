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

"""A trained model as one file: its params (safetensors, no pickle) and what rebuilds it.

The file holds the ZMNet params (float32, names like `transformer/conv1/conv/kernel`) and,
as safetensors metadata (strings), the model's config (JSON), an optional model card
(JSON: how it was trained, how it scores), for word models the signal vocabulary, and a
sha256 of the arrays, checked on load (a flipped bit is an error, not a silent change).
Reading one needs no optimizer, no orbax and no training data.
"""

from __future__ import annotations

from collections.abc import Mapping
import hashlib
import json
import os
from typing import Any

import numpy as np

from zmnet_jax import files

FORMAT = 'zmnet_jax.params/1'
SUFFIX = '.safetensors'


class ParamsFileError(ValueError):
  """A params file that cannot be used; the message names it, on one line."""


def leaves(tree: Mapping[str, Any], prefix: str = ''):
  """('a/b', leaf) for every leaf of a nested mapping, in order."""
  for key, value in tree.items():
    name = f'{prefix}{key}'
    if isinstance(value, Mapping):
      yield from leaves(value, name + '/')
    else:
      yield name, value


def flatten(tree: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """{'a': {'b': x}} -> {'a/b': x} (numpy arrays)."""
  return {name: np.asarray(value) for name, value in leaves(tree)}


def flatten_shapes(tree: Mapping[str, Any]) -> dict[str, tuple]:
  """{'a/b': shape} of a tree of arrays or ShapeDtypeStructs."""
  return {name: tuple(value.shape) for name, value in leaves(tree)}


def unflatten(flat: Mapping[str, np.ndarray]) -> dict[str, Any]:
  """{'a/b': x} -> {'a': {'b': x}}."""
  tree: dict[str, Any] = {}
  for name, value in flat.items():
    node = tree
    *parents, leaf = name.split('/')
    for part in parents:
      node = node.setdefault(part, {})
    node[leaf] = value
  return tree


def save(
  path: str | os.PathLike,
  params,
  config: Mapping[str, Any],
  card: Mapping[str, Any] | None = None,
  vocabulary: Mapping[str, Any] | None = None,
) -> str:
  """Writes params (as float32) with their config, card and vocabulary; atomic."""
  from safetensors.numpy import save as save_tensors

  tensors = {k: np.ascontiguousarray(v, np.float32) for k, v in flatten(params).items()}
  metadata = {
    'format': FORMAT,
    'config': json.dumps(config),
    'card': json.dumps(card or {}),
    'sha256': tensors_digest(tensors),
  }
  if vocabulary is not None:
    metadata['signal_vocabulary'] = json.dumps(vocabulary)
  return files.write_bytes(path, save_tensors(tensors, metadata=metadata))


def load(path: str | os.PathLike) -> tuple[dict, dict, dict, dict | None]:
  """(config, params tree of numpy arrays, card, vocabulary dict or None)."""
  from safetensors import SafetensorError
  from safetensors.numpy import load as load_tensors

  try:
    with open(path, 'rb') as f:
      data = f.read()
    tensors = load_tensors(data)
    metadata = _metadata(data)
  except OSError as e:
    raise ParamsFileError(f'{path}: cannot read params file ({e.strerror or e})') from e
  except (SafetensorError, ValueError) as e:
    raise ParamsFileError(f'{path}: not a readable safetensors file ({_first_line(e)})') from e
  if metadata.get('format') != FORMAT:
    raise ParamsFileError(
      f'{path}: not a zmnet_jax params file (format '
      f'{metadata.get("format")!r}, expected {FORMAT!r})'
    )
  try:
    config = json.loads(metadata['config'])
    card = json.loads(metadata.get('card', '{}'))
    vocab = metadata.get('signal_vocabulary')
    vocab = json.loads(vocab) if vocab else None
  except (KeyError, json.JSONDecodeError) as e:
    raise ParamsFileError(f'{path}: damaged metadata ({_first_line(e)})') from e
  if 'sha256' in metadata and metadata['sha256'] != tensors_digest(tensors):
    raise ParamsFileError(f'{path}: damaged (the params do not match the checksum saved with them)')
  bad = [k for k, v in tensors.items() if not np.all(np.isfinite(v))]
  if bad:
    raise ParamsFileError(
      f'{path}: {bad[0]} holds NaN or infinite values'
      + (f' (and {len(bad) - 1} more arrays)' if len(bad) > 1 else '')
    )
  return config, unflatten(tensors), card, vocab


def tensors_digest(tensors: Mapping[str, np.ndarray]) -> str:
  """sha256 over the arrays' names, dtypes, shapes and bytes, in name order."""
  digest = hashlib.sha256()
  for name in sorted(tensors):
    array = np.ascontiguousarray(tensors[name])
    digest.update(f'{name}:{array.dtype.str}:{list(array.shape)};'.encode())
    digest.update(array.tobytes())
  return digest.hexdigest()


def _metadata(data: bytes) -> dict[str, str]:
  """The `__metadata__` of a safetensors byte string (its JSON header)."""
  if len(data) < 8:
    raise ValueError('file too short')
  size = int.from_bytes(data[:8], 'little')
  if size > len(data) - 8:
    raise ValueError('header larger than the file')
  return json.loads(data[8 : 8 + size]).get('__metadata__') or {}


def _first_line(error: Exception) -> str:
  return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
