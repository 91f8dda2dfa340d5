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

"""Which folders a config trains and evaluates on, and its training stream."""

from __future__ import annotations

import dataclasses
import os

import ml_collections

from zmnet_jax import cache
from zmnet_jax.data import embedded, packed, train_input, word_input
from zmnet_jax.data.image_files import DataError


@dataclasses.dataclass(frozen=True)
class DatasetFolders:
  content_train: str
  style_train: str
  content_val: str
  style_val: str


def resolve_datasets(config: ml_collections.ConfigDict) -> DatasetFolders:
  """Folders to train and evaluate on: the embedded images or the configured ones.

  Word/attribute models (`model.pnet.signal == 'vector'`) take their style photos from
  `config.signals.words` instead, so their style fields are ''.
  """
  data_config = config.data
  needs_styles = config.model.pnet.signal == 'image'
  if data_config.source == 'embedded':
    root = os.path.join(cache.cache_dir(), 'embedded_data')
    dirs = embedded.materialize_embedded_data(root)
    return DatasetFolders(
      dirs['content_train'],
      dirs['style_train'] if needs_styles else '',
      dirs['content_val'],
      dirs['style_val'] if needs_styles else '',
    )
  if data_config.source != 'folders':
    raise ValueError(f"data.source must be 'embedded' or 'folders', got {data_config.source!r}")
  folders = DatasetFolders(
    data_config.content_dir,
    data_config.style_dir if needs_styles else '',
    data_config.content_val_dir,
    data_config.style_val_dir if needs_styles else '',
  )
  required = {FOLDER_FIELDS[k]: v for k, v in dataclasses.asdict(folders).items()}
  if not needs_styles:
    required = {k: v for k, v in required.items() if not k.startswith('data.style')}
    required.update({f'signals.words.{w}': p for w, p in config.signals.words.items()})
    required.update({f'signals.references.{w}': p for w, p in config.signals.references.items()})
  for field, path in required.items():
    if not path:
      raise ValueError(f'--config.{field} is not set (data.source is "folders"): give a folder')
    if not (os.path.isdir(path) or packed.is_packed(path)):
      root = ', or --config.data.root for all' if config.data.get('root') else ''
      raise DataError(f'{path}: data folder not found (--config.{field}{root})')
  return folders


# The config field (the flag a user sets) of each DatasetFolders field.
FOLDER_FIELDS = {
  'content_train': 'data.content_dir',
  'style_train': 'data.style_dir',
  'content_val': 'data.content_val_dir',
  'style_val': 'data.style_val_dir',
}


def data_dir(data_config: ml_collections.ConfigDict) -> str:
  return data_config.data_dir or os.path.join(cache.cache_dir(), 'tfds')


def make_train_input(
  folders: DatasetFolders,
  config: ml_collections.ConfigDict,
  global_batch: int,
  seed: int,
  vocab=None,
):
  """This host's share of the training stream: content x style (x word signal)."""
  data_config = ml_collections.ConfigDict(config.data.to_dict())
  data_config.content_dir = folders.content_train
  data_config.style_dir = folders.style_train
  data_config.data_dir = data_dir(config.data)
  if config.model.pnet.signal == 'vector':
    return word_input.make_word_style_input(data_config, config.signals, vocab, global_batch, seed)
  return train_input.make_train_input(data_config, global_batch, seed)
