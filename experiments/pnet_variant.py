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

"""Claim 5: the serial PNet gives better results than the parallel one (fewer artifacts).

Both trained on all training styles for the same steps (the serial run is claim 3's
'all' run); the val512 protocol's scores, paired (parallel - serial), and the two
contact sheets side by side.
"""

from __future__ import annotations

import os

from experiments import figures, runs, style_count


def run(setting: runs.Setting) -> dict:
  serial = style_count.trained(setting, 0)
  parallel = runs.train(
    setting,
    'pnet_parallel',
    setting.scale.steps,
    f'--config.data.style_dir={runs.style_subset(setting, 0)}',
    '--config.model.pnet.variant=parallel',
  )
  results = {
    'serial': runs.protocol(setting, serial.model, style_count.run_name(0)),
    'parallel': runs.protocol(setting, parallel.model, 'pnet_parallel'),
  }
  sheet = os.path.join(setting.out, 'pnet_contact_sheet.png')
  figures.side_by_side(
    [os.path.join(results[k], 'contact_sheet.png') for k in ('serial', 'parallel')],
    ['serial PNet', 'parallel PNet'],
    sheet,
  )
  return {
    'claim': 5,
    'serial': runs.protocol_means(results['serial']),
    'parallel': runs.protocol_means(results['parallel']),
    'parallel_minus_serial': runs.compare(results['serial'], results['parallel']),
    'cpu_minutes': {
      'serial': round(serial.cpu_seconds / 60, 1),
      'parallel': round(parallel.cpu_seconds / 60, 1),
    },
    'figure': sheet,
  }
