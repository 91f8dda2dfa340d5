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

"""The accelerator recipe end to end on CPU: bundle, budgeted training, exported model."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from zmnet_jax import infer
from zmnet_jax.data import packed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(REPO, '..', 'shared', 'data')


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.skipif(not os.path.isdir(SHARED_DATA), reason='needs ../shared/data')
def test_device_script_trains_in_a_budget_and_exports_a_loadable_model(tmp_path):
  bundle, out = tmp_path / 'bundle', tmp_path / 'out'
  subprocess.run(
    [
      sys.executable,
      'launch/device_bundle.py',
      '--data',
      SHARED_DATA,
      '--out',
      str(bundle),
      '--styles',
      '24',
      '--contents',
      '16',
      '--content-short-side',
      '72',
      '--style-short-side',
      '80',
      '--val',
      '2',
      '--val-size',
      '64',
    ],
    cwd=REPO,
    check=True,
    capture_output=True,
    text=True,
  )
  styles = packed.PackedImages(str(bundle / 'style_train.npz'))
  assert len(styles) == 24 and styles[0]['image'][:2] == b'\xff\xd8'  # JPEG bytes
  env = dict(
    os.environ,
    OUT=str(out),
    BUNDLE=str(bundle),
    SECONDS_BUDGET='15',  # stops after the first step even if compiling takes longer
    WORKDIR=str(tmp_path / 'run'),
    PYTHON=sys.executable,
    CONFIG='release_gpu:tiny',  # the recipe at CPU size
  )
  result = subprocess.run(
    ['launch/device_train.sh'],
    cwd=REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=900,
  )
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert sorted(os.listdir(out)) == [
    'metrics.jsonl',
    'model.safetensors',
    'runs.jsonl',
    'train.log',
  ]
  assert os.path.getsize(out / 'model.safetensors') < 60 * 2**20
  assert 'image_folder_dataset' not in open(out / 'train.log').read()  # no TFDS preparation
  stylizer = infer.Stylizer.load(str(out / 'model.safetensors'))
  run = json.loads(open(out / 'runs.jsonl').read().splitlines()[-1])
  assert stylizer.step == run['end_step'] > 0 and run['seconds'] > 0
  din = stylizer.encode_images([np.random.default_rng(0).uniform(size=(64, 64, 3))])
  assert np.isfinite(stylizer.stylize(np.zeros((1, 32, 32, 3)), din)).all()
