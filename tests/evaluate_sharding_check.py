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

"""Run as a script (8 fake CPU devices): sharded evaluation vs one device.

  python tests/evaluate_sharding_check.py WORKDIR CONTENT_DIR STYLE_DIR

Prints one JSON object: the shardings of the DIN parameters, outputs and scores of one
chunk on an 8-device 'data' mesh, and the max differences of the outputs and scores of a
whole evaluation on that mesh against one device.
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
from zmnet_jax.data import eval_images, images
from zmnet_jax.evaluation import held_out as evaluation, metrics

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
  padded = images.pad_with_last(styles, evaluation.chunk_size(8, len(styles), nets.num_devices))
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


def main():
  workdir, content_dir, style_dir = sys.argv[1:4]
  stylizer = infer.Stylizer.load(workdir)
  content_names, contents = eval_images.load_eval_images(content_dir, SIZE)
  style_names, styles = eval_images.load_eval_images(style_dir, SIZE, limit=NUM_STYLES)
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
  print(json.dumps(report))


if __name__ == '__main__':
  main()
