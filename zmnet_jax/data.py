"""Glue between configs and the input pipeline: dataset folders, batch shapes, global arrays."""

from __future__ import annotations

import dataclasses
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from zmnet_jax import embedded_data, input_pipeline, sharding, cache


@dataclasses.dataclass(frozen=True)
class DatasetFolders:
  content_train: str
  style_train: str
  content_val: str
  style_val: str


def resolve_datasets(data_config: ml_collections.ConfigDict) -> DatasetFolders:
  """Folders to train and evaluate on: the embedded images or the configured ones."""
  if data_config.source == 'embedded':
    root = os.path.join(cache.cache_dir(), 'embedded_data')
    dirs = embedded_data.materialize_embedded_data(root)
    return DatasetFolders(dirs['content_train'], dirs['style_train'], dirs['content_val'],
                          dirs['style_val'])
  if data_config.source != 'folders':
    raise ValueError(f"data.source must be 'embedded' or 'folders', got "
                     f'{data_config.source!r}')
  folders = DatasetFolders(data_config.content_dir, data_config.style_dir,
                           data_config.content_val_dir, data_config.style_val_dir)
  for field in dataclasses.fields(folders):
    path = getattr(folders, field.name)
    if not path:
      raise ValueError(f'data.{field.name} is not set (data.source is "folders")')
    if not os.path.isdir(path):
      raise input_pipeline.DataError(f'{path}: data folder not found (data.{field.name})')
  return folders


def data_dir(data_config: ml_collections.ConfigDict) -> str:
  return data_config.data_dir or os.path.join(cache.cache_dir(), 'tfds')


def make_train_input(folders: DatasetFolders, config: ml_collections.ConfigDict,
                     global_batch: int, seed: int):
  """This host's share of the content x style training stream."""
  data_config = ml_collections.ConfigDict(config.data.to_dict())
  data_config.content_dir = folders.content_train
  data_config.style_dir = folders.style_train
  data_config.data_dir = data_dir(config.data)
  return input_pipeline.make_train_input(data_config, global_batch, seed)


def batch_shapes(config: ml_collections.ConfigDict, global_batch: int):
  """ShapeDtypeStructs of one global training batch."""
  c, s = config.data.content_size, config.data.style_size
  return {'content': jax.ShapeDtypeStruct((global_batch, c, c, 3), jnp.float32),
          'style': jax.ShapeDtypeStruct((global_batch, s, s, 3), jnp.float32)}


def to_global_batch(local_batch, mesh) -> dict[str, jax.Array]:
  """Host-local numpy batch -> global arrays sharded over the 'data' axis."""
  target = sharding.batch_sharding(mesh)
  return {k: jax.make_array_from_process_local_data(target, np.asarray(v))
          for k, v in local_batch.items()}
