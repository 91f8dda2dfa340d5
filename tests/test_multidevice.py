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

"""8 fake CPU devices, in one subprocess (`multidevice_check.py`): the sharded train step
and the sharded held-out evaluation give the numbers of one device."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def report(trained_workdir, word_folders):
  script = os.path.join(REPO, 'tests', 'multidevice_check.py')
  args = [trained_workdir, word_folders['content_val'], word_folders['style_train']]
  proc = subprocess.run(
    [sys.executable, script, *args],
    capture_output=True,
    text=True,
    # (XLA's cheap compile, from conftest.py: 56 s instead of 75 s here, with the same
    # differences to one device, measured.)
    env=dict(os.environ, PYTHONPATH=REPO),
    timeout=900,
    check=False,
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  return json.loads(proc.stdout.strip().splitlines()[-1])


def test_sharded_steps_match_one_device(report):
  """A 'data' mesh and a 'data' x 'model' mesh agree with 1 device."""
  report = report['train']
  assert report['num_devices'] == 8
  assert report['ref_param_change'] > 1e-5
  for name, mesh in report['meshes'].items():
    np.testing.assert_allclose(mesh['loss'], mesh['ref_loss'], rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(mesh['grad_norm'], mesh['ref_grad_norm'], rtol=1e-4, err_msg=name)
    assert mesh['fraction_differing'] < 1e-3, (name, mesh)
    assert mesh['max_param_diff'] < 0.05 * report['ref_param_change'], (name, mesh)
    assert mesh['loss_spec'] == [] and mesh['step_spec'] == []
  assert report['meshes']['8']['kernel_mesh'] == {'data': 8}
  assert report['meshes']['8']['kernel_spec'] == []
  assert report['meshes']['4x2']['kernel_mesh'] == {'data': 4, 'model': 2}
  assert report['meshes']['4x2']['kernel_spec'] == [None, None, None, 'model']


def test_evaluation_shards_signals_and_matches_one_device(report):
  """DIN, outputs and scores split over 'data'; the same numbers as 1 device."""
  report = report['evaluate']
  assert report['num_devices'] == 8 and report['num_styles'] == 5
  assert report['din_spec'] == ['data'] and report['din_devices'] == 8
  assert report['out_spec'] == ['data'] and report['out_devices'] == 8
  assert report['out_shape'] == [8, 2, 32, 32, 3]  # 5 styles padded to 8 signals
  assert report['out_shard_shapes'] == [[1, 2, 32, 32, 3]]
  assert report['lpips_spec'] == ['data'] and report['lpips_devices'] == 8
  assert report['signals_per_chunk'] == 8 and report['throughput_devices'] == 8
  assert report['score_shape'] == [5, 2]
  assert report['max_output_diff'] < 1e-4
  for name, diff in report['max_score_rel_diff'].items():
    assert diff < 1e-3, (name, diff)
