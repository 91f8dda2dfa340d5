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

"""Run as a script (8 fake CPU devices): sharded training and evaluation vs one device.

  python tests/multidevice_check.py WORKDIR CONTENT_DIR STYLE_DIR

Prints one JSON object. 'train': per mesh, the loss, gradient norm and updated params of
one train step against the single-device step, and the shardings the outputs carry.
'evaluate': the shardings of one evaluation chunk's DIN parameters, outputs and scores on
an 8-device 'data' mesh, and the max differences of a whole evaluation (of the model in
WORKDIR) against one device. One process for both: jax, the VGG weights and the step
compilations are loaded once.
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
from zmnet_jax import infer, sharding
from zmnet_jax.configs import default
from zmnet_jax.data import eval_sets, image_arrays
from zmnet_jax.evaluation import held_out as evaluation, metrics
from zmnet_jax.models import model as model_lib
from zmnet_jax.training import state as train_state, trainer

SIZE = 32
NUM_STYLES = 5


def spec(x) -> list:
  return [str(a) for a in x.sharding.spec]


def chunk_shardings(stylizer, contents, styles, lpips_params, mesh) -> dict:
  """Where one chunk's DIN parameters, outputs and scores live on `mesh`."""
  nets = evaluation.networks(
    stylizer.model, stylizer.params, stylizer.vgg_params, mesh, lpips_params
  )
  placed = nets.functions.replicate(contents)
  padded = image_arrays.pad_with_last(
    styles, evaluation.chunk_size(8, len(styles), nets.num_devices)
  )
  din, outputs = evaluation.stylize_chunk(nets, placed, padded)
  scores = evaluation.score_chunk(nets, outputs, placed, padded)
  gamma = jax.tree.leaves(din)[0]
  return {
    'din_spec': spec(gamma),
    'din_devices': len(gamma.sharding.device_set),
    'out_spec': spec(outputs),
    'out_devices': len(outputs.sharding.device_set),
    'out_shard_shapes': sorted({tuple(s.data.shape) for s in outputs.addressable_shards}),
    'out_shape': list(outputs.shape),
    'lpips_spec': spec(scores['lpips']),
    'lpips_devices': len(scores['lpips'].sharding.device_set),
  }


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


def train_report() -> dict:
  """One train step on an 8-device 'data' mesh and a 4 x 2 'data' x 'model' mesh vs 1 device."""
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
  return report


def evaluate_report(workdir: str, content_dir: str, style_dir: str) -> dict:
  """A chunk's shardings and a whole held-out evaluation on 8 devices vs 1."""
  stylizer = infer.Stylizer.load(workdir)
  content_names, contents = eval_sets.load_eval_images(content_dir, SIZE)
  style_names, styles = eval_sets.load_eval_images(style_dir, SIZE, limit=NUM_STYLES)
  held_out = evaluation.HeldOutSet(content_names, contents, style_names, styles)
  lpips_params = metrics.load_lpips()
  mesh = sharding.create_mesh([('data', -1)])
  report = {
    'num_devices': jax.device_count(),
    'num_styles': len(style_names),
    'num_contents': len(content_names),
    **chunk_shardings(stylizer, contents, styles, lpips_params, mesh),
  }
  args = (stylizer.model, stylizer.params, stylizer.vgg_params, held_out, 8)
  one = evaluation.evaluate_held_out(*args, mesh=None, lpips_params=lpips_params)
  many = evaluation.evaluate_held_out(*args, mesh=mesh, lpips_params=lpips_params)
  report['max_output_diff'] = float(np.max(np.abs(one.outputs - many.outputs)))
  report['max_score_rel_diff'] = {
    # Relative to the score, floored at 0.01: SSIM can be ~1e-4 for a badly kept content.
    k: float(
      np.max(np.abs(one.scores[k] - many.scores[k]) / np.maximum(np.abs(one.scores[k]), 1e-2))
    )
    for k in one.scores
  }
  report['score_shape'] = list(many.scores['lpips'].shape)
  report['throughput_devices'] = many.throughput['num_devices']
  report['signals_per_chunk'] = many.throughput['signals_per_chunk']
  return report


def main():
  report = {'train': train_report(), 'evaluate': evaluate_report(*sys.argv[1:4])}
  print(json.dumps(report))


if __name__ == '__main__':
  main()
