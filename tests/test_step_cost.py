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

"""The compiled step's cost: XLA's FLOP count, the peak table, FLOP/s and MFU."""

import jax
import jax.numpy as jnp
import pytest

from zmnet_jax.training import step_cost


def test_flops_are_the_compiled_programs_count():
  m, k, n = 64, 128, 96
  compiled = jax.jit(lambda a, b: a @ b).lower(jnp.ones((m, k)), jnp.ones((k, n))).compile()
  cost = step_cost.analyze(compiled, jax.devices()[:1], images_per_step=8, dtype='float32')
  assert cost.flops_per_step == 2 * m * k * n
  assert cost.flops_per_image == 2 * m * k * n / 8
  assert cost.memory['argument'] == 4 * (m * k + k * n) and cost.memory['output'] == 4 * m * n
  assert 'FLOP/s only, no MFU' in cost.summary()  # no CPU entry in the table


@pytest.mark.parametrize(
  'kind, dtype, peak',
  [
    ('TPU v4', 'bfloat16', 275e12),
    ('TPU v5 lite', 'bfloat16', 197e12),  # v5e, not v5p's 459
    ('TPU v5', 'bfloat16', 459e12),
    ('TPU v6 lite', 'bfloat16', 918e12),
    ('NVIDIA H100 80GB HBM3', 'float32', 67e12),
    ('NVIDIA A100-SXM4-40GB', 'bfloat16', 312e12),
    ('TPU v4', 'float32', None),
    ('cpu', 'float32', None),
  ],
)
def test_peak_table(kind, dtype, peak):
  assert step_cost.peak_flops(kind, dtype) == peak


def test_rates_give_flops_per_second_and_mfu():
  cost = step_cost.StepCost(2e12, 4, 32, {}, 'NVIDIA H200', 989e12)
  rates = cost.rates(steps=10, seconds=4.0)
  assert rates['gflop_per_step'] == 8e3
  assert rates['gflop_per_s'] == pytest.approx(2e4)
  assert rates['mfu'] == pytest.approx(2e13 / (4 * 989e12))
