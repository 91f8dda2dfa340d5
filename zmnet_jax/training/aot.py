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

"""The real steps compiled for a Cloud TPU topology on a machine without one.

XLA compiles for a TPU slice described by name (`v5e:2x2`) through libtpu and
`jax.experimental.topologies`, with compile-only devices. The train step is the trainer's
own (`trainer.abstract_state` -> shardings -> `compile_train_step`, same donation and
dtype); the held-out evaluation is the evaluator's (encode, transform, score, split over
the styles). Each compiled program reports its per-chip memory against the chip's HBM,
XLA's FLOPs and bytes, the collectives in its HLO, and a roofline: the step takes at least
max(FLOPs / peak, bytes / HBM bandwidth) per chip.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
import contextlib
import dataclasses
import importlib.util
import os
import re
import tempfile
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from zmnet_jax import sharding
from zmnet_jax.evaluation import held_out, metrics
from zmnet_jax.infer import core
from zmnet_jax.models import model as model_lib
from zmnet_jax.training import state as state_lib, step_cost, trainer


class AotError(RuntimeError):
  """A topology, libtpu or a config that cannot compile or fit; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Chip:
  """One TPU chip's data sheet: HBM, dense bfloat16 peak and HBM bandwidth."""

  name: str
  hbm_bytes: int
  peak_flops: float
  hbm_bandwidth: float  # bytes/s
  megacore: bool = False  # two TensorCores as one device (jax's meshes need that)


# Cloud TPU system architecture pages: {libtpu's topology prefix: chip}.
CHIPS = {
  'v4': Chip('v4', 32 * 2**30, 275e12, 1200e9, megacore=True),
  'v5e': Chip('v5e', 16 * 2**30, 197e12, 819e9),
  'v5p': Chip('v5p', 95 * 2**30, 459e12, 2765e9, megacore=True),
  'v6e': Chip('v6e', 32 * 2**30, 918e12, 1640e9),
}

COLLECTIVES = ('all-reduce', 'all-gather', 'reduce-scatter', 'all-to-all', 'collective-permute')
_DTYPE_BYTES = {'f32': 4, 'bf16': 2, 'f16': 2, 's32': 4, 'u32': 4, 'pred': 1, 's8': 1, 'u8': 1}


@dataclasses.dataclass(frozen=True)
class Topology:
  name: str
  chip: Chip
  devices: list
  num_slices: int = 1


def chip_of(topology: str) -> Chip:
  prefix = topology.split(':')[0].lower()
  if prefix not in CHIPS:
    raise AotError(f'unknown TPU topology {topology!r}: use one of {sorted(CHIPS)}, e.g. v5e:2x2')
  return CHIPS[prefix]


@contextlib.contextmanager
def _quiet_stderr():
  """libtpu writes its init chatter (no TPU here) to the process's stderr: dropped (a
  failure raises its own message, of which the error keeps the first line)."""
  saved = os.dup(2)
  with tempfile.TemporaryFile() as sink:
    os.dup2(sink.fileno(), 2)
    try:
      yield sink
    finally:
      os.dup2(saved, 2)
      os.close(saved)


def tpu_topology(name: str, num_slices: int = 1) -> Topology:
  """Compile-only devices of a TPU slice (or `num_slices` of them); AotError if libtpu is
  missing or does not know `name`."""
  chip = chip_of(name)
  # Compiling needs no TPU, nor libtpu's one-process lock (a process that merely imported
  # jax beside libtpu holds it).
  os.environ.setdefault('ALLOW_MULTIPLE_LIBTPU_LOAD', '1')
  if importlib_spec('libtpu') is None:
    raise AotError(
      "compiling for a TPU needs libtpu: pip install 'zmnet_jax[tpu]' (libtpu==0.0.42.*)"
    )
  from jax.experimental import topologies

  kwargs = {'num_slices': num_slices} if num_slices > 1 else {}
  if chip.megacore:  # else libtpu lists each TensorCore, and meshes refuse them
    kwargs['chip_config_name'] = 'megacore'
  try:
    with _quiet_stderr():
      devices = topologies.get_topology_desc(name, 'tpu', **kwargs).devices
  except Exception as e:  # libtpu's errors are long C++ messages
    raise AotError(f'libtpu cannot make topology {name!r}: {_first_line(e)}') from e
  return Topology(name, chip, list(devices), num_slices)


def importlib_spec(name: str):
  """`importlib.util.find_spec` (a seam for tests)."""
  return importlib.util.find_spec(name)


# ----------------------------------------------------------------------------- reports


@dataclasses.dataclass(frozen=True)
class Collective:
  kind: str
  count: int
  bytes: int


@dataclasses.dataclass(frozen=True)
class Report:
  """One compiled program on one chip of a topology."""

  name: str
  topology: str
  chip: Chip
  num_devices: int
  images: int  # per step, over all chips
  memory: dict[str, int]  # per chip: argument, output, temp, generated_code, alias
  flops: float  # per chip
  bytes_accessed: float  # per chip
  collectives: list[Collective]
  compile_seconds: float = 0.0

  @property
  def memory_bytes(self) -> int:
    m = self.memory
    return m['argument'] + m['output'] - m['alias'] + m['temp'] + m['generated_code']

  @property
  def fits(self) -> bool:
    return self.memory_bytes <= self.chip.hbm_bytes

  @property
  def step_seconds(self) -> float:
    """Roofline: the step is bound by compute or by HBM traffic, whichever is slower."""
    return max(self.flops / self.chip.peak_flops, self.bytes_accessed / self.chip.hbm_bandwidth)

  @property
  def bound(self) -> str:
    compute = self.flops / self.chip.peak_flops
    return 'compute' if compute >= self.bytes_accessed / self.chip.hbm_bandwidth else 'memory'

  @property
  def images_per_second(self) -> float:
    return self.images / max(self.step_seconds, 1e-12)

  @property
  def mfu_ceiling(self) -> float:
    """MFU if the step ran at the roofline: FLOPs / (peak x roofline time)."""
    return self.flops / (self.chip.peak_flops * max(self.step_seconds, 1e-12))

  def to_json(self) -> dict[str, Any]:
    return dict(
      step=self.name,
      topology=self.topology,
      chips=self.num_devices,
      images_per_step=self.images,
      memory_per_chip=self.memory,
      memory_per_chip_gib=self.memory_bytes / 2**30,
      hbm_per_chip_gib=self.chip.hbm_bytes / 2**30,
      fits=self.fits,
      flops_per_chip=self.flops,
      bytes_accessed_per_chip=self.bytes_accessed,
      collectives=[dataclasses.asdict(c) for c in self.collectives],
      roofline_step_ms=self.step_seconds * 1e3,
      bound=self.bound,
      images_per_second=self.images_per_second,
      mfu_ceiling=self.mfu_ceiling,
      compile_seconds=self.compile_seconds,
    )

  def lines(self) -> list[str]:
    gib = lambda b: f'{b / 2**30:.2f} GiB'
    m = self.memory
    collectives = ', '.join(
      f'{c.kind} x{c.count} ({c.bytes / 2**20:.1f} MiB)' for c in self.collectives
    )
    return [
      f'{self.name} on {self.topology} ({self.num_devices} chips, {self.images} images a call; '
      f'compiled in {self.compile_seconds:.0f} s)',
      f'  memory per chip: {gib(self.memory_bytes)} of {gib(self.chip.hbm_bytes)} HBM '
      f'(arguments {gib(m["argument"])}, outputs {gib(m["output"])}, aliased '
      f'{gib(m["alias"])}, temporaries {gib(m["temp"])}, code {m["generated_code"] / 2**20:.1f} MiB)',
      f'  per chip: {self.flops / 1e9:.1f} GFLOP, {self.bytes_accessed / 2**30:.2f} GiB accessed',
      f'  collectives: {collectives or "none"}',
      f'  roofline: {self.step_seconds * 1e3:.2f} ms a step ({self.bound}-bound), '
      f'{self.images_per_second:,.0f} img/s, MFU ceiling {self.mfu_ceiling:.0%}',
    ]


def collectives_in(hlo_text: str) -> list[Collective]:
  """Collective ops of a compiled HLO module: kind, count and the bytes of their results
  (an asynchronous one counted once, at its `-done`, whose shape is the result)."""
  counts, sizes = collections.Counter(), collections.Counter()
  pattern = re.compile(r'=\s*(.+?)\s+(' + '|'.join(COLLECTIVES) + r')(-start|-done)?\(')
  for line in hlo_text.splitlines():
    match = pattern.search(line)
    if not match or match.group(3) == '-start':
      continue
    counts[match.group(2)] += 1
    sizes[match.group(2)] += _shape_bytes(match.group(1))
  return [Collective(k, counts[k], sizes[k]) for k in COLLECTIVES if counts[k]]


def _shape_bytes(shapes: str) -> int:
  total = 0
  for dtype, dims in re.findall(r'\b([a-z]+[0-9]*)\[([0-9,]*)\]', shapes):
    if dtype in _DTYPE_BYTES:
      total += _DTYPE_BYTES[dtype] * int(np.prod([int(d) for d in dims.split(',') if d] or [1]))
  return total


def report(name: str, compiled, topology: Topology, images: int, seconds: float = 0.0) -> Report:
  cost = step_cost.analyze(compiled, topology.devices, images, 'bfloat16')
  costs = compiled.cost_analysis()
  if isinstance(costs, (list, tuple)):
    costs = costs[0] if costs else {}
  alias = int(getattr(compiled.memory_analysis(), 'alias_size_in_bytes', 0) or 0)
  return Report(
    name=name,
    topology=topology.name
    if topology.num_slices == 1
    else f'{topology.num_slices}x {topology.name}',
    chip=topology.chip,
    num_devices=len(topology.devices),
    images=images,
    memory=dict(cost.memory, alias=alias),
    flops=cost.flops_per_device,
    bytes_accessed=float((costs or {}).get('bytes accessed', 0.0)),
    collectives=collectives_in(compiled.as_text()),
    compile_seconds=seconds,
  )


# ----------------------------------------------------------------------------- the steps


def _abstract(tree, shardings):
  """ShapeDtypeStructs of `tree` (arrays or structs) placed by `shardings` (a tree or one)."""
  if not isinstance(shardings, jax.sharding.Sharding):
    return jax.tree.map(
      lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), tree, shardings
    )
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=shardings), tree)


def _mesh(axes, topology: Topology):
  """The config's mesh over the topology's chips; AotError (one line) if it cannot be."""
  try:
    return sharding.create_mesh(axes, topology.devices)
  except (ValueError, AssertionError) as e:  # jax's mesh_utils asserts
    raise AotError(f'config.mesh {list(axes)} on {topology.name}: {_first_line(e)}') from e


def compile_train(config: ml_collections.ConfigDict, topology: Topology, batch: int) -> Report:
  """The trainer's step, for a global batch of `batch`, on the topology's mesh."""
  mesh = _mesh(config.mesh, topology)
  sharding.check_batch_divisible(batch, mesh)
  model, vgg_params = model_lib.build_model(config)
  tx, schedule = state_lib.make_optimizer(config.optim, config.train.num_steps)
  batch_shapes = model_lib.batch_shapes(config, batch)
  abstract, shardings = trainer.abstract_state(model, tx, config, vgg_params, batch_shapes, mesh)
  step = trainer.compile_train_step(model, tx, schedule, mesh, shardings, batch_shapes)
  args = (
    _abstract(abstract, shardings),
    _abstract(batch_shapes, sharding.batch_sharding(mesh)),
    _abstract(vgg_params, sharding.replicated(mesh)),
  )
  compiled, seconds = _compile(step, args, topology, batch)
  return report('train step', compiled, topology, batch, seconds)


def compile_evaluation(config: ml_collections.ConfigDict, topology: Topology) -> list[Report]:
  """The held-out evaluation of one chunk: styles encoded, contents stylized, then scored
  (LPIPS, style ratio, losses), the styles split over the chips."""
  mesh = _mesh([(sharding.DATA_AXIS, -1)], topology)
  model, vgg_params = model_lib.build_model(config)
  tx, _ = state_lib.make_optimizer(config.optim, 1)
  batch_shapes = model_lib.batch_shapes(config, 1)
  abstract, _ = trainer.abstract_state(model, tx, config, vgg_params, batch_shapes, mesh)
  functions = core.functions_for(model, mesh)
  ev = config.eval
  styles = held_out.chunk_size(ev.batch_styles, ev.num_styles, len(topology.devices))
  size, style_size = ev.image_size, ev.style_size
  rep, split = sharding.replicated(mesh), sharding.batch_sharding(mesh)
  params = _abstract(abstract.params, rep)
  vgg = _abstract(vgg_params, rep)
  contents = jax.ShapeDtypeStruct((ev.num_contents, size, size, 3), jnp.float32, sharding=rep)
  style_images = jax.ShapeDtypeStruct(
    (styles, style_size, style_size, 3), jnp.float32, sharding=split
  )
  din = jax.eval_shape(functions.encode, params, vgg, style_images)
  din = _abstract(din, split)
  outputs = jax.eval_shape(functions.transform, params, contents, din)
  outputs = jax.ShapeDtypeStruct(outputs.shape, outputs.dtype, sharding=split)
  lpips = _abstract(metrics.load_lpips(), rep)
  ratio = _abstract(metrics.load_style_ratio(), rep)
  pairs = styles * ev.num_contents
  programs = [
    ('evaluation: encode styles', functions.encode, (params, vgg, style_images), styles),
    ('evaluation: stylize', functions.transform, (params, contents, din), pairs),
    (
      'evaluation: score',
      held_out.scorer(functions),
      (vgg, lpips, ratio, outputs, contents, style_images),
      pairs,
    ),
  ]
  reports = []
  for name, fn, args, images in programs:
    compiled, seconds = _compile(fn, args, topology, images)
    reports.append(report(name, compiled, topology, images, seconds))
  return reports


def _compile(fn, args, topology: Topology, batch: int):
  """(the compiled program, seconds it took)."""
  start = time.perf_counter()
  try:
    return fn.lower(*args).compile(), time.perf_counter() - start
  except Exception as e:  # XLA's errors run to pages: their first line
    raise AotError(f'at batch {batch}, {topology.name} refuses to compile: {_first_line(e)}') from e


def _first_line(error: Exception) -> str:
  text = str(error).strip()
  return text.splitlines()[0][:300] if text else type(error).__name__


def find_batch(
  compile_at: Callable[[int], Report], multiple: int, start: int, limit: int = 1 << 16
) -> Report | None:
  """The report of the largest global batch (a multiple of `multiple`, at most `limit`)
  whose step fits the chip's HBM, in a few compiles (each takes minutes): memory is
  linear in the batch, so two compiles (`start` and twice it, halving while `start` does
  not fit) predict the largest batch; it is compiled to check, and stepped down by a
  tenth until it fits. None if not even `multiple` fits."""
  round_down = lambda b: max(multiple, min(limit, int(b)) // multiple * multiple)
  low = compile_at(round_down(start))
  while not low.fits:
    if low.images == multiple:
      return None
    low = compile_at(round_down(low.images // 2))
  high = compile_at(round_down(2 * low.images))
  if high.images == low.images:
    return low
  per_image = (high.memory_bytes - low.memory_bytes) / (high.images - low.images)
  fixed = low.memory_bytes - per_image * low.images
  best = low if not high.fits else high
  guess = round_down((low.chip.hbm_bytes - fixed) / per_image) if per_image > 0 else limit
  while guess > best.images:
    report_ = compile_at(guess)
    if report_.fits:
      return report_
    guess = round_down(min(guess - multiple, guess * 0.9))
  return best


def too_big(report_: Report, config_name: str) -> str:
  """The one-line refusal of a step that does not fit."""
  return (
    f'config {config_name} at batch {report_.images} needs '
    f'{report_.memory_bytes / 2**30:.1f} GiB per chip on {report_.chip.name} '
    f'({report_.chip.hbm_bytes / 2**30:.0f} GiB)'
  )
