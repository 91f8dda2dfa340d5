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


"""Joining a multi-process run: explicit coordinator settings, or auto-detection.

    JAX_COORDINATOR_ADDRESS=host:port JAX_NUM_PROCESSES=N JAX_PROCESS_ID=i python -m ...
    python -m zmnet_jax.train ... --config.cluster.coordinator_address=host:port \\
        --config.cluster.num_processes=N --config.cluster.process_id=i

Explicit values (the config's `cluster` section, else those environment variables) are
passed to `jax.distributed.initialize`; on CPU the collectives then go through gloo, so
several processes on one machine (`launch/local_multihost.sh`) form one run. With none
given, `config.distributed=True` lets JAX detect the cluster (Cloud TPU, SLURM, ...).
"""

from __future__ import annotations

import dataclasses
import os

import jax

ENV = {
  'coordinator_address': 'JAX_COORDINATOR_ADDRESS',
  'num_processes': 'JAX_NUM_PROCESSES',
  'process_id': 'JAX_PROCESS_ID',
}


class ClusterError(ValueError):
  """Incomplete or inconsistent multi-process settings (one line for the user)."""


@dataclasses.dataclass(frozen=True)
class Cluster:
  coordinator_address: str = ''
  num_processes: int = 0
  process_id: int = -1

  @property
  def explicit(self) -> bool:
    return bool(self.coordinator_address or self.num_processes or self.process_id >= 0)


def cluster_settings(config, environ=None) -> Cluster:
  """The explicit settings: the config's `cluster` section first, then the environment."""
  environ = os.environ if environ is None else environ
  section = dict(config.get('cluster', {}) or {})
  unset = dataclasses.asdict(Cluster())
  values = {}
  for name, variable in ENV.items():
    value = section.get(name, unset[name])
    if value == unset[name] or value is None:
      value = environ.get(variable, '')
    values[name] = value
  try:
    cluster = Cluster(
      str(values['coordinator_address'] or ''),
      int(values['num_processes'] or 0),
      int(values['process_id']) if values['process_id'] not in ('', None) else -1,
    )
  except ValueError as e:
    raise ClusterError(f'cluster settings must be numbers where numbers are expected ({e})') from e
  if cluster.explicit:
    missing = [ENV[n] for n, v in dataclasses.asdict(cluster).items() if v == unset[n]]
    if missing:
      raise ClusterError(f'multi-process run: also set {", ".join(missing)} (or config.cluster)')
    if not 0 <= cluster.process_id < cluster.num_processes:
      raise ClusterError(f'process id {cluster.process_id} is not in [0, {cluster.num_processes})')
  return cluster


def initialize(config) -> None:
  """Joins the run's processes (explicit settings, or `config.distributed` detection)."""
  cluster = cluster_settings(config)
  if cluster.explicit:
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize(
      cluster.coordinator_address, cluster.num_processes, cluster.process_id
    )
  elif config.distributed:
    jax.distributed.initialize()
