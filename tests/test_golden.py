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

"""Golden numbers: a silent change of the training or inference numerics fails here.

Recorded with jax 0.10.2 on an x86-64 CPU. The tolerances are measured: the largest change
seen across XLA's optimization levels (`JAX_DISABLE_MOST_OPTIMIZATIONS=1` or not) and 1 or 2
cores (`taskset`), times ten (see each constant). A deliberate change
of the recipe, the model or the VGG weights changes these numbers: re-record them with
`python tests/test_golden.py` and say why in the commit.
"""

import json
import os
import sys
import tempfile

import jax
import numpy as np
import pytest

from zmnet_jax import infer
from zmnet_jax.configs import default
from zmnet_jax.data import embedded, image_arrays, image_files
from zmnet_jax.training import trainer

from conftest import new_training, random_batch

STEP_TERMS = ('loss', 'content', 'style', 'tv', 'grad_norm', 'style/relu1_1', 'learning_rate')
# `tiny` on two fixed random batches; per step: the loss terms and the gradient norm.
GOLDEN_STEPS = (
  {
    'loss': 9.082081,
    'content': 0.5934841,
    'style': 8.376451,
    'tv': 0.1121445,
    'grad_norm': 44.00816,
    'style/relu1_1': 0.3800407,
    'learning_rate': 0.0,
  },
  {
    'loss': 9.643169,
    'content': 0.5881261,
    'style': 8.94413,
    'tv': 0.1109118,
    'grad_norm': 48.54237,
    'style/relu1_1': 0.3819382,
    'learning_rate': 5.000001e-05,
  },
)
# Relative; the spread measured across the settings above: 2.9e-5 (grad_norm, unoptimized).
STEP_RTOL = 3e-4

# The shipped model on the embedded `chelsea` photo (128 px) and `gravel` style: per-channel
# mean and standard deviation of the output in [0, 1], and its mean |horizontal gradient|.
GOLDEN_STYLIZED = {
  'shape': [128, 192, 3],
  'mean': [0.530768, 0.52303, 0.525381],
  'std': [0.192904, 0.192199, 0.198745],
  'gradient': 0.048243,
}
# Absolute, in [0, 1] units (one grey level is 0.0039). The spread measured: below the
# recorded 1e-6; 1e-4 leaves room for another CPU's vector units.
STYLIZED_ATOL = 1e-4


def first_steps():
  """The `tiny` config's first two steps: ([metrics of step 1, 2], params before, after)."""
  config = default.get_config('tiny')
  state, step, mesh, vgg_params = new_training(config)
  before = jax.device_get(state.params)
  logged = []
  for seed in (1, 2):  # the first step has learning rate 0 (warmup), the second does not
    batch = trainer.to_global_batch(random_batch(config, seed), mesh)
    state, metrics = step(state, batch, vgg_params)
    logged.append({k: float(v) for k, v in jax.device_get(metrics).items()})
  return logged, before, jax.device_get(state.params), int(state.step)


def stylized_summary(folders):
  """Per-channel mean, std and mean |d/dx| of the shipped model on one embedded pair."""
  stylizer = infer.Stylizer.load()
  photo = image_files.load_image(os.path.join(folders['content_val'], 'chelsea.png'))
  photo = image_arrays.resize_short_side(photo, 128)
  style = image_files.load_image(os.path.join(folders['style_val'], 'gravel.png'))
  out = stylizer.stylize(image_arrays.to_float(photo)[None], stylizer.encode_images([style]))[0, 0]
  out = np.asarray(out, np.float64)
  return {
    'shape': list(out.shape),
    'mean': out.mean((0, 1)).round(6).tolist(),
    'std': out.std((0, 1)).round(6).tolist(),
    'gradient': round(float(np.abs(np.diff(out, axis=1)).mean()), 6),
  }


@pytest.mark.optimized  # users' numerics
def test_the_first_two_training_steps_give_the_recorded_numbers():
  logged, before, after, step = first_steps()
  assert step == 2
  for metrics in logged:
    assert bool(metrics['finite'])
  changed = jax.tree.map(lambda a, b: bool(np.any(a != b)), after, before)
  assert all(jax.tree.leaves(changed['param_net'])) and all(jax.tree.leaves(changed['transformer']))
  for number, (got, want) in enumerate(zip(logged, GOLDEN_STEPS, strict=True), 1):
    for key in STEP_TERMS:
      assert got[key] == pytest.approx(want[key], rel=STEP_RTOL), (number, key)


@pytest.mark.optimized
def test_the_shipped_model_gives_the_recorded_output(word_folders):
  got = stylized_summary(word_folders)
  want = GOLDEN_STYLIZED
  assert got['shape'] == want['shape']
  np.testing.assert_allclose(got['mean'], want['mean'], rtol=0, atol=STYLIZED_ATOL)
  np.testing.assert_allclose(got['std'], want['std'], rtol=0, atol=STYLIZED_ATOL)
  assert got['gradient'] == pytest.approx(want['gradient'], abs=STYLIZED_ATOL)


if __name__ == '__main__':
  # Prints the numbers to record (`python tests/test_golden.py`).
  logged = first_steps()[0]
  steps = [{k: float(f'{m[k]:.7g}') for k in STEP_TERMS} for m in logged]
  with tempfile.TemporaryDirectory() as tmp:
    stylized = stylized_summary(embedded.materialize_embedded_data(tmp))
  json.dump({'steps': steps, 'stylized': stylized}, sys.stdout, indent=1)
  print()
