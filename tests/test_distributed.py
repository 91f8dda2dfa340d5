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
import shutil
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


def launch(workdir, processes, devices, steps, port):
  """`launch/local_multihost.sh` on the tiny config; (stdout, {process: log})."""
  result = subprocess.run(
    [
      os.path.join(REPO, 'launch', 'local_multihost.sh'),
      str(processes),
      'default:tiny',
      str(workdir),
      f'--config.train.num_steps={steps}',
      '--config.train.log_every=1',
      '--config.train.checkpoint_every=2',
      '--config.train.batch_size=8',
      '--config.data.content_size=32',
      '--config.data.style_size=32',
      '--config.eval.image_size=32',
      '--config.eval.style_size=32',
      '--config.train.sample_every=0',
      '--config.eval.at_end=False',
      '--config.optim.decay=constant',
      '--config.optim.warmup_steps=0',
      # Adam's first step is ~lr * sign(grad): a large eps keeps elements whose gradient
      # is ~0 (its sign set by summation order) from moving by a full lr (as in
      # multidevice_check.py). With the default 1e-8, step 2 once differed by 2e-5.
      '--config.optim.eps=1e-3',
    ],
    capture_output=True,
    text=True,
    timeout=900,
    cwd=REPO,
    env=dict(os.environ, PORT=str(port), DEVICES=str(devices)),
  )
  logs = {i: (workdir / f'process_{i}.log').read_text() for i in range(processes)}
  assert result.returncode == 0, (result.stderr, logs)
  return result.stdout, logs


def losses(workdir):
  return {
    r['step']: r['loss'] for r in map(json.loads, open(workdir / 'metrics.jsonl')) if 'loss' in r
  }


@pytest.mark.slow
def test_two_processes_train_as_one_and_resume_across_topologies(tmp_path):
  """2 processes x 4 devices for 2 steps, resumed by 1 process x 8 devices for 2 more,
  give the losses of 1 process x 1 device straight through, and so does that run's step-2
  checkpoint resumed by 2 processes: the same global batches (the input does not depend on
  the process count) and checkpoints any topology restores."""
  port = 20000 + os.getpid() % 20000
  mixed = tmp_path / 'mixed'
  stdout, logs = launch(mixed, 2, 4, 2, port)
  assert '2 processes x 4 devices finished' in stdout
  assert 'on 8 cpu device(s)' in logs[0]  # one mesh over both processes' devices
  assert sorted(losses(mixed)) == [1, 2]  # written once, by process 0
  assert os.listdir(mixed / 'checkpoints') == ['2']
  _, logs = launch(mixed, 1, 8, 4, port + 1)
  assert 'resumed from step 2' in logs[0]
  straight = tmp_path / 'straight'
  launch(straight, 1, 1, 4, port + 2)
  got, want = losses(mixed), losses(straight)
  assert sorted(got) == sorted(want) == [1, 2, 3, 4]
  # Measured: step 1 agrees to 5e-7 (relative), step 2 to 1.5e-5-2e-5 (2 runs), steps 3-4
  # to 2e-4. Adam's first updates turn summation-order noise in near-zero gradients into
  # lr-sized steps, so the runs drift apart slowly; another image order or a restart of the
  # input would differ by more than 10% (the loss moves 10-30% from step to step).
  for step, tolerance in ((1, 1e-5), (2, 1e-4), (3, 1e-3), (4, 1e-3)):
    assert got[step] == pytest.approx(want[step], rel=tolerance), step
  # The other way round: the 1-process checkpoint of step 2, resumed by 2 processes.
  reverse = tmp_path / 'reverse'
  shutil.copytree(straight, reverse)
  shutil.rmtree(reverse / 'checkpoints' / '4')
  _, logs = launch(reverse, 2, 4, 4, port + 3)
  assert 'resumed from step 2' in logs[0] and 'resumed from step 2' in logs[1]
  got = losses(reverse)
  assert sorted(got) == [1, 2, 3, 4]
  for step, tolerance in ((1, 0.0), (2, 0.0), (3, 1e-3), (4, 1e-3)):
    assert got[step] == pytest.approx(want[step], rel=tolerance), step
