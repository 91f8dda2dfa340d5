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

"""Device mesh and shardings: batch over 'data', wide weights over 'model' (if present)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
from jax.experimental import mesh_utils
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P
import numpy as np

DATA_AXIS = 'data'
MODEL_AXIS = 'model'


def create_mesh(axes: Sequence[tuple[str, int]], devices=None) -> Mesh:
  """A mesh from [('data', -1), ('model', 2)]-style specs; one -1 takes what is left."""
  devices = jax.devices() if devices is None else devices
  names = [str(name) for name, _ in axes]
  sizes = [int(size) for _, size in axes]
  if DATA_AXIS not in names:
    raise ValueError(f"config.mesh needs a '{DATA_AXIS}' axis, got {names}")
  known = int(np.prod([s for s in sizes if s != -1]))
  if sizes.count(-1) > 1 or len(devices) % known:
    raise ValueError(f'config.mesh {list(axes)} does not fit {len(devices)} devices')
  sizes = [len(devices) // known if s == -1 else s for s in sizes]
  if int(np.prod(sizes)) != len(devices):
    raise ValueError(
      f'config.mesh {list(axes)} uses {int(np.prod(sizes))} devices, but {len(devices)} are present'
    )
  axis_types = (AxisType.Auto,) * len(names)
  slices = len({getattr(d, 'slice_index', 0) for d in devices})
  if slices > 1:
    return Mesh(_multislice_grid(names, sizes, slices, devices), tuple(names), axis_types)
  return jax.make_mesh(tuple(sizes), tuple(names), axis_types=axis_types, devices=devices)


def _multislice_grid(names, sizes, slices: int, devices) -> np.ndarray:
  """Devices of several TPU slices as a grid: 'data' spans the slices (over the data-center
  network, where only the gradient all-reduce goes), every other axis stays in a slice."""
  data = names.index(DATA_AXIS)
  if sizes[data] % slices:
    raise ValueError(f"the '{DATA_AXIS}' axis ({sizes[data]}) must divide over {slices} slices")
  within = [s // slices if i == data else s for i, s in enumerate(sizes)]
  across = [slices if i == data else 1 for i in range(len(sizes))]
  return mesh_utils.create_hybrid_device_mesh(within, across, devices)


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) dimension split over the 'data' axis."""
  return NamedSharding(mesh, P(DATA_AXIS))


def param_sharding(mesh: Mesh, shape: Sequence[int]) -> NamedSharding:
  """Shards a weight's output-channel dimension over 'model' when it divides evenly."""
  model_size = mesh.shape.get(MODEL_AXIS, 1)
  if model_size > 1 and len(shape) >= 2 and shape[-1] % model_size == 0:
    return NamedSharding(mesh, P(*([None] * (len(shape) - 1)), MODEL_AXIS))
  return replicated(mesh)


def state_shardings(mesh: Mesh, abstract_state):
  """Shardings for every leaf of an abstract train state (from jax.eval_shape)."""
  return jax.tree.map(lambda x: param_sharding(mesh, x.shape), abstract_state)


def check_batch_divisible(global_batch: int, mesh: Mesh) -> None:
  data_size = mesh.shape[DATA_AXIS]
  if global_batch % data_size or global_batch % jax.process_count():
    raise ValueError(
      f'train.batch_size={global_batch} must be divisible by the {data_size} '
      f"devices of the '{DATA_AXIS}' axis and by {jax.process_count()} hosts"
    )
