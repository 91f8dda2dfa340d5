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

"""Run as a script (8 fake CPU devices): one train step on several meshes vs one device.

Prints one JSON object: per mesh, the max |difference| of loss and updated params against
the single-device step, and the shardings the outputs carry.
"""

import json
import os
import sys

os.environ['XLA_FLAGS'] = (
  os.environ.get('XLA_FLAGS', '') + ' --xla_force_host_platform_device_count=8'
)

import jax
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from zmnet_jax import sharding
from zmnet_jax.configs import default
from zmnet_jax.models import model as model_lib
from zmnet_jax.training import state as train_state, trainer


def run_step(config, model, vgg_params, batch, mesh):
  tx, schedule = train_state.make_optimizer(config.optim, config.train.num_steps)
  shapes = model_lib.batch_shapes(config, config.train.batch_size)
  vgg_params = jax.device_put(vgg_params, sharding.replicated(mesh))
  state, shardings = trainer.create_sharded_state(model, tx, config, vgg_params, shapes, mesh)
  initial_params = jax.device_get(state.params)
  step = trainer.compile_train_step(model, tx, schedule, mesh, shardings, shapes)
  state, metrics = step(state, trainer.to_global_batch(batch, mesh), vgg_params)
  return state, metrics, initial_params


def max_abs_diff(a, b) -> float:
  return max(jax.tree.leaves(jax.tree.map(lambda x, y: float(np.max(np.abs(x - y))), a, b)))


def fraction_differing(a, b, tol=1e-5) -> float:
  """Share of parameter elements that differ by more than `tol`."""
  diff = jax.tree.leaves(jax.tree.map(lambda x, y: int(np.sum(np.abs(x - y) > tol)), a, b))
  return sum(diff) / sum(x.size for x in jax.tree.leaves(a))


def main():
  config = default.get_config('tiny')
  config.train.batch_size = 8
  config.data.content_size = config.data.style_size = 32
  config.optim.warmup_steps = 0  # the very first step must move the params
  config.optim.decay = 'constant'
  # Adam's first step is ~lr * sign(grad): a large eps keeps elements whose gradient is
  # ~0 (and whose sign depends on summation order) from moving by a full lr.
  config.optim.eps = 1e-3
  model, vgg_params = model_lib.build_model(config)
  rng = np.random.default_rng(0)
  batch = {
    'content': rng.uniform(size=(8, 32, 32, 3)).astype(np.float32),
    'style': rng.uniform(size=(8, 32, 32, 3)).astype(np.float32),
  }
  one = sharding.create_mesh([('data', 1)], devices=jax.devices()[:1])
  ref_state, ref_metrics, initial = run_step(config, model, vgg_params, batch, one)
  ref_params = jax.device_get(ref_state.params)
  report = {
    'num_devices': jax.device_count(),
    'meshes': {},
    'ref_param_change': max_abs_diff(ref_params, initial),
  }
  for axes in ([('data', 8)], [('data', 4), ('model', 2)]):
    mesh = sharding.create_mesh(axes)
    state, metrics, _ = run_step(config, model, vgg_params, batch, mesh)
    kernel = state.params['transformer']['conv1']['conv']['kernel']
    report['meshes']['x'.join(str(s) for _, s in axes)] = {
      'loss': float(metrics['loss']),
      'ref_loss': float(ref_metrics['loss']),
      'max_param_diff': max_abs_diff(jax.device_get(state.params), ref_params),
      'fraction_differing': fraction_differing(jax.device_get(state.params), ref_params),
      'grad_norm': float(metrics['grad_norm']),
      'ref_grad_norm': float(ref_metrics['grad_norm']),
      'kernel_spec': list(kernel.sharding.spec),
      'kernel_mesh': dict(kernel.sharding.mesh.shape),
      'loss_spec': list(metrics['loss'].sharding.spec),
      'step_spec': list(state.step.sharding.spec),
    }
  print(json.dumps(report))


if __name__ == '__main__':
  main()
