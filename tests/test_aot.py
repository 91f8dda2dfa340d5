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

"""The real steps compiled for a TPU slice on this CPU (libtpu, no TPU): `zmnet-aot`."""

import contextlib
import dataclasses
import importlib.util
import io
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zmnet_jax import sharding
from zmnet_jax.cli import aot as aot_cli
from zmnet_jax.configs import default
from zmnet_jax.models import model as model_lib
from zmnet_jax.training import aot

needs_libtpu = pytest.mark.skipif(
  importlib.util.find_spec('libtpu') is None, reason='needs libtpu (the [test] extra has it)'
)


@pytest.fixture(scope='module')
def compiled(tmp_path_factory):
  """`zmnet-aot --config tiny --topology v5e:2x2 --batch 16`: (its stdout, its JSON).

  4 images a chip: at 2, XLA adds 6 collective-permutes of 64-128 KiB to the backward of
  TNet's upsampling (its reflect pads), which this test would then have to allow."""
  out = tmp_path_factory.mktemp('aot') / 'tiny.json'
  args = ['zmnet-aot', '--config', 'tiny', '--topology', 'v5e:2x2', '--batch', '16']
  printed = io.StringIO()
  with contextlib.redirect_stdout(printed):
    assert aot_cli.main([*args, '--json', str(out)]) == 0
  return printed.getvalue(), json.loads(out.read_text())


@needs_libtpu
@pytest.mark.slow
def test_the_train_step_compiles_for_a_tpu_slice_and_all_reduces_the_gradients_once(compiled):
  printed, result = compiled
  train = result['reports'][0]
  assert train['step'] == 'train step' and train['topology'] == 'v5e:2x2'
  assert train['chips'] == 4 and train['images_per_step'] == 16 and train['fits']
  memory = train['memory_per_chip']
  assert all(memory[k] > 0 for k in ('argument', 'output', 'temp', 'generated_code'))
  assert memory['alias'] > 0  # the donated state is updated in place
  assert 0 < train['memory_per_chip_gib'] < train['hbm_per_chip_gib'] == 16
  assert train['flops_per_chip'] > 1e9 and train['bytes_accessed_per_chip'] > 1e6
  # Data parallel: the gradients all-reduced once, no other collective. Once, in bytes: the
  # params' float32 bytes, a tenth more as TNet's strided and upsampling convolutions reduce
  # the gradients of their phase kernels (4x4 and 2x3x2x3 taps for 3x3), plus the loss
  # scalars; XLA may cut the one reduction into a few ops.
  config = default.get_config('tiny')
  model, vgg_params = model_lib.build_model(config)
  shapes = model_lib.batch_shapes(config, 1)
  batch = {k: jnp.zeros(s.shape, s.dtype) for k, s in shapes.items()}
  params = jax.eval_shape(lambda: model.init(jax.random.key(0), vgg_params, batch))
  param_bytes = sum(4 * int(np.prod(p.shape)) for p in jax.tree.leaves(params))
  (reduce,) = train['collectives']
  assert reduce['kind'] == 'all-reduce' and reduce['count'] <= 2
  assert param_bytes < reduce['bytes'] < 1.2 * param_bytes
  chip = aot.CHIPS['v5e']
  roofline = max(
    train['flops_per_chip'] / chip.peak_flops,
    train['bytes_accessed_per_chip'] / chip.hbm_bandwidth,
  )
  assert train['roofline_step_ms'] == pytest.approx(roofline * 1e3)
  assert train['images_per_second'] == pytest.approx(16 / roofline)
  assert 0 < train['mfu_ceiling'] <= 1
  assert 'train step on v5e:2x2 (4 chips, 16 images a call' in printed
  assert 'collectives: all-reduce x' in printed


@needs_libtpu
@pytest.mark.slow
def test_the_evaluation_compiles_split_over_the_chips(compiled):
  _, result = compiled
  steps = {r['step']: r for r in result['reports'][1:]}
  assert list(steps) == ['evaluation: encode styles', 'evaluation: stylize', 'evaluation: score']
  ev = default.get_config('tiny').eval
  styles = max(ev.batch_styles, 4)  # a multiple of the 4 chips
  assert steps['evaluation: encode styles']['images_per_step'] == styles
  assert steps['evaluation: stylize']['images_per_step'] == styles * ev.num_contents
  for report in steps.values():
    assert report['fits'] and report['flops_per_chip'] > 0
    assert report['collectives'] == []  # every style's work stays on its chip


def fake_report(hbm_gib: float, memory_gib: float, images: int) -> aot.Report:
  chip = dataclasses.replace(aot.CHIPS['v5e'], hbm_bytes=int(hbm_gib * 2**30))
  memory = dict(argument=int(memory_gib * 2**30), output=0, alias=0, temp=0, generated_code=0)
  return aot.Report('train step', 'v5e:2x2', chip, 4, images, memory, 1e12, 1e9, [])


@needs_libtpu
def test_a_step_that_does_not_fit_is_one_line(monkeypatch, capsys):
  monkeypatch.setattr(
    aot, 'compile_train', lambda config, topology, batch: fake_report(16, 21.3, batch)
  )
  code = aot_cli.main(['zmnet-aot', '--config', 'tiny', '--topology', 'v5e:2x2', '--batch', '4096'])
  err = capsys.readouterr().err.strip().splitlines()
  assert code == 1
  assert err[-1] == 'error: config tiny at batch 4096 needs 21.3 GiB per chip on v5e (16 GiB)'


@needs_libtpu
def test_find_batch_with_nothing_that_fits_is_one_line_after_one_compile(monkeypatch, capsys):
  batches = []

  def compile_train(config, topology, batch):
    batches.append(batch)
    return fake_report(16, 40, batch)

  monkeypatch.setattr(aot, 'compile_train', compile_train)
  args = ['zmnet-aot', '--config', 'tiny', '--topology', 'v5e:2x2', '--batch', '4', '--find-batch']
  assert aot_cli.main(args) == 1
  assert batches == [4]  # the refusal reuses find_batch's compile
  err = capsys.readouterr().err.strip().splitlines()
  assert err[-1] == 'error: config tiny at batch 4 needs 40.0 GiB per chip on v5e (16 GiB)'


@pytest.mark.parametrize(
  'topology, words',
  [
    ('v9:2x2', "unknown TPU topology 'v9:2x2'"),
    ('v5e:3x7', "libtpu cannot make topology 'v5e:3x7'"),
  ],
)
@needs_libtpu
def test_bad_topologies_are_one_line(topology, words, capsys):
  code = aot_cli.main(['zmnet-aot', '--config', 'tiny', '--topology', topology])
  err = capsys.readouterr().err.strip()
  assert code == 1 and len(err.splitlines()) == 1 and words in err, err


@needs_libtpu
def test_megacore_chips_are_one_device_each():
  """v4 and v5p have two TensorCores a chip: one device each, as jax's meshes need."""
  topology = aot.tpu_topology('v4:2x2x2')
  assert len(topology.devices) == 8 and topology.chip.name == 'v4'
  mesh = sharding.create_mesh([('data', -1)], topology.devices)
  assert mesh.shape['data'] == 8


@needs_libtpu
def test_two_slices_make_one_data_axis_over_both():
  topology = aot.tpu_topology('v5e:2x2', num_slices=2)
  mesh = sharding.create_mesh([('data', -1)], topology.devices)
  assert mesh.shape['data'] == 8
  assert [d.slice_index for d in mesh.devices.flat] == [0, 0, 0, 0, 1, 1, 1, 1]
  with pytest.raises(ValueError, match='must divide over 2 slices'):
    sharding.create_mesh([('data', 1), ('model', 8)], topology.devices)


def test_without_libtpu_the_command_says_how_to_get_it(monkeypatch, capsys):
  monkeypatch.setattr(aot, 'importlib_spec', lambda name: None)
  assert aot_cli.main(['zmnet-aot', '--config', 'tiny', '--topology', 'v5e:2x2']) == 1
  assert "needs libtpu: pip install 'zmnet_jax[tpu]'" in capsys.readouterr().err


def test_find_batch_finds_the_largest_batch_that_fits_in_a_few_compiles():
  tried = []

  def compile_at(batch):  # 2 GiB of weights and code, 0.13 GiB an image: 104 fit 16 GiB
    tried.append(batch)
    return fake_report(16, 2 + 0.13 * batch, batch)

  assert aot.find_batch(compile_at, multiple=4, start=32).images == 104
  assert tried == [32, 64, 104]
  tried.clear()
  assert aot.find_batch(compile_at, multiple=4, start=512).images == 104  # halves first
  assert tried == [512, 256, 128, 64, 128, 104]
  assert aot.find_batch(compile_at, multiple=4, start=32, limit=48).images == 48
  assert aot.find_batch(compile_at, multiple=128, start=128) is None


def test_collectives_are_read_from_the_hlo():
  hlo = """
  %all-reduce = f32[256,256]{1,0} all-reduce(%fusion), channel_id=1, to_apply=%add
  %ag = (bf16[8,128]{1,0}, bf16[32,128]{1,0}) all-gather-start(%p), dimensions={0}
  %ag.done = bf16[32,128]{1,0} all-gather-done(%ag)
  %cp = (f32[4]{0}, f32[4]{0}, u32[]{:S(2)}, u32[]{:S(2)}) collective-permute-start(%x)
  %cp.done = f32[4]{0:T(256)} collective-permute-done(%cp), source_target_pairs={{0,1}}
  """
  assert aot.collectives_in(hlo) == [
    aot.Collective('all-reduce', 1, 256 * 256 * 4),
    aot.Collective('all-gather', 1, 32 * 128 * 2),  # asynchronous: its result, once
    aot.Collective('collective-permute', 1, 16),
  ]
