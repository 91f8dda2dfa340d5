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

"""Multi-process runs: explicit cluster settings, and the local launcher (2 processes)."""

import json
import os
import subprocess

import ml_collections
import pytest

from zmnet_jax import distributed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config_with(**cluster):
  config = ml_collections.ConfigDict({'distributed': False})
  config.cluster = ml_collections.ConfigDict(
    dict(dict(coordinator_address='', num_processes=0, process_id=-1), **cluster)
  )
  return config


def test_cluster_settings_come_from_the_config_then_the_environment():
  env = {'JAX_COORDINATOR_ADDRESS': 'h:1', 'JAX_NUM_PROCESSES': '2', 'JAX_PROCESS_ID': '0'}
  assert distributed.cluster_settings(config_with(), env) == distributed.Cluster('h:1', 2, 0)
  explicit = config_with(coordinator_address='c:2', num_processes=4, process_id=3)
  assert distributed.cluster_settings(explicit, env) == distributed.Cluster('c:2', 4, 3)
  assert not distributed.cluster_settings(config_with(), {}).explicit  # auto-detection


@pytest.mark.parametrize(
  'env, words',
  [
    ({'JAX_COORDINATOR_ADDRESS': 'h:1', 'JAX_NUM_PROCESSES': '2'}, 'also set JAX_PROCESS_ID'),
    (
      {'JAX_NUM_PROCESSES': '2', 'JAX_PROCESS_ID': '2', 'JAX_COORDINATOR_ADDRESS': 'h:1'},
      'not in [0, 2)',
    ),
    ({'JAX_NUM_PROCESSES': 'two'}, 'must be numbers'),
  ],
)
def test_incomplete_cluster_settings_are_one_clear_error(env, words):
  with pytest.raises(distributed.ClusterError, match=words.replace('[', r'\[').replace(')', r'\)')):
    distributed.cluster_settings(config_with(), env)


@pytest.mark.slow
def test_two_processes_train_as_one_run(tmp_path):
  workdir = tmp_path / 'run'
  result = subprocess.run(
    [
      os.path.join(REPO, 'launch', 'local_multihost.sh'),
      '2',
      'default:tiny',
      str(workdir),
      '--config.train.num_steps=2',
      '--config.train.log_every=1',
      '--config.train.batch_size=8',
      '--config.train.sample_every=0',
      '--config.eval.at_end=False',
    ],
    capture_output=True,
    text=True,
    timeout=900,
    cwd=REPO,
    env=dict(os.environ, PORT=str(20000 + os.getpid() % 20000)),
  )
  logs = {i: (workdir / f'process_{i}.log').read_text() for i in (0, 1)}
  assert result.returncode == 0, (result.stderr, logs)
  assert '2 processes x 4 devices finished' in result.stdout
  assert 'on 8 cpu device(s)' in logs[0]  # one mesh over both processes' devices
  steps = [json.loads(line)['step'] for line in open(workdir / 'metrics.jsonl')]
  assert steps == [1, 2]  # written once, by process 0
  assert os.listdir(workdir / 'checkpoints') == ['2']
