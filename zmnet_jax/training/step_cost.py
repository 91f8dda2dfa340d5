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


"""What a compiled train step costs, and how well a run uses the hardware.

From the compiled step (XLA's own count, not an estimate): FLOPs per step and per image,
its memory (arguments, outputs, temporaries); during the run the achieved FLOP/s and,
where the device's peak is known, MFU (model FLOPs utilization: achieved / peak).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

log = logging.getLogger(__name__)

# Dense peak FLOP/s per chip, from the vendors' data sheets: {device kind: {dtype: peak}}.
# TPUs compute float32 matmuls in several bfloat16 passes; no float32 peak is listed.
PEAK_FLOPS = {
  'TPU v4': {'bfloat16': 275e12},
  'TPU v5 lite': {'bfloat16': 197e12},  # v5e
  'TPU v5e': {'bfloat16': 197e12},
  'TPU v5p': {'bfloat16': 459e12},
  'TPU v5': {'bfloat16': 459e12},  # v5p reports 'TPU v5'
  'TPU v6 lite': {'bfloat16': 918e12},  # v6e (Trillium)
  'TPU v6e': {'bfloat16': 918e12},
  'A100': {'bfloat16': 312e12, 'float32': 19.5e12},
  'H100': {'bfloat16': 989e12, 'float32': 67e12},
  'H200': {'bfloat16': 989e12, 'float32': 67e12},
}


def peak_flops(device_kind: str, dtype: str) -> float | None:
  """The table's peak for a device kind (longest matching name) and dtype, or None."""
  matches = [name for name in PEAK_FLOPS if name.lower() in device_kind.lower()]
  if not matches:
    return None
  return PEAK_FLOPS[max(matches, key=len)].get(dtype)


@dataclasses.dataclass(frozen=True)
class StepCost:
  """The compiled step's cost (per device program) and the devices it runs on."""

  flops_per_device: float
  num_devices: int
  images_per_step: int
  memory: dict[str, int]
  device_kind: str
  peak_per_device: float | None

  @property
  def flops_per_step(self) -> float:
    return self.flops_per_device * self.num_devices

  @property
  def flops_per_image(self) -> float:
    return self.flops_per_step / max(self.images_per_step, 1)

  def rates(self, steps: int, seconds: float) -> dict[str, float]:
    """Scalars for an interval of `steps` steps: achieved FLOP/s (and MFU where known)."""
    flops_per_s = self.flops_per_step * steps / max(seconds, 1e-9)
    out = {'gflop_per_step': self.flops_per_step / 1e9, 'gflop_per_s': flops_per_s / 1e9}
    if self.peak_per_device:
      out['mfu'] = flops_per_s / (self.peak_per_device * self.num_devices)
    return out

  def summary(self) -> str:
    mb = {k: v / 2**20 for k, v in self.memory.items()}
    peak = (
      f'peak {self.peak_per_device / 1e12:.0f} TFLOP/s per device'
      if self.peak_per_device
      else f'no peak in the table for {self.device_kind!r}: FLOP/s only, no MFU'
    )
    return (
      f'train step: {self.flops_per_step / 1e9:.1f} GFLOP per step, '
      f'{self.flops_per_image / 1e9:.2f} GFLOP per image, on {self.num_devices} '
      f'{self.device_kind} device(s) ({peak}); memory per device: arguments '
      f'{mb["argument"]:.0f} MB, outputs {mb["output"]:.0f} MB, temporaries '
      f'{mb["temp"]:.0f} MB, code {mb["generated_code"]:.1f} MB'
    )


def analyze(compiled: Any, devices, images_per_step: int, dtype: str) -> StepCost:
  """The StepCost of a `jax.jit(...).lower(...).compile()` result."""
  costs = compiled.cost_analysis()
  if isinstance(costs, (list, tuple)):  # older JAX: one dict per program
    costs = costs[0] if costs else {}
  memory = compiled.memory_analysis()
  kind = devices[0].device_kind
  return StepCost(
    flops_per_device=float((costs or {}).get('flops', 0.0)),
    num_devices=len(devices),
    images_per_step=images_per_step,
    memory={
      name: int(getattr(memory, f'{name}_size_in_bytes', 0) or 0)
      for name in ('argument', 'output', 'temp', 'generated_code')
    },
    device_kind=kind,
    peak_per_device=peak_flops(kind, dtype),
  )
