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

"""Training: bfloat16, resume, metrics/samples/eval outputs, damaged checkpoints, errors.

The first steps' numbers are in `test_golden.py`, sharded steps in `test_multidevice.py`,
how a run stops (non-finite loss, signals, time budget) in `test_train_stops.py`.
"""

import json
import os
import shutil

import jax
import numpy as np
import pytest

from zmnet_jax import checkpointing
from zmnet_jax.cli import train as cli_train
from zmnet_jax.models import model as model_lib
from zmnet_jax.training import hooks, trainer

from conftest import new_training, random_batch, small_config


def test_bfloat16_compute_keeps_float32_params():
  config = small_config()
  config.dtype = 'bfloat16'
  config.data.content_size = config.data.style_size = 16
  state, step, mesh, vgg_params = new_training(config)
  state, metrics = step(state, trainer.to_global_batch(random_batch(config), mesh), vgg_params)
  assert np.isfinite(float(metrics['loss']))
  assert {x.dtype for x in jax.tree.leaves(state.params)} == {np.dtype('float32')}


def test_pnet_reads_the_whole_style_view_and_the_loss_the_crop():
  config = small_config(batch_size=2)
  config.data.content_size = config.data.style_size = 16
  config.data.style_view_size = 24
  state, step, mesh, vgg_params = new_training(config)
  model, _ = model_lib.build_model(config)
  rng = np.random.default_rng(5)
  batch = {**random_batch(config), 'style_view': rng.uniform(size=(2, 24, 24, 3))}
  batch['style_view'] = batch['style_view'].astype(np.float32)
  other = {k: v[::-1].copy() for k, v in batch.items()}  # the other row's images
  terms, outputs = model.loss_terms(state.params, vgg_params, batch)
  crop_swapped, same_outputs = model.loss_terms(
    state.params, vgg_params, {**batch, 'style': other['style']}
  )
  _, view_swapped = model.loss_terms(
    state.params, vgg_params, {**batch, 'style_view': other['style_view']}
  )
  np.testing.assert_array_equal(outputs, same_outputs)
  assert not np.allclose(outputs, view_swapped, atol=1e-4)
  assert not np.allclose(terms['style'], crop_swapped['style'], rtol=1e-3)
  state, metrics = step(state, trainer.to_global_batch(batch, mesh), vgg_params)
  assert np.isfinite(float(metrics['loss']))


def read_params(workdir, config):
  model, vgg_params = model_lib.build_model(config)
  ckpt = checkpointing.Checkpointer(os.path.join(workdir, 'checkpoints'), 0, 3)
  params, step = ckpt.restore_params(model.abstract_params(config, vgg_params))
  ckpt.close()
  return jax.device_get(params), step


@pytest.mark.slow
def test_stop_and_resume_matches_an_uninterrupted_run(tmp_path, caplog):
  config = small_config(num_steps=4, checkpoint_every=2, log_every=2, sample_every=0)
  config.optim.decay = 'constant'  # the same schedule whatever num_steps says
  config.optim.warmup_steps = 0
  straight = str(tmp_path / 'straight')
  out = trainer.train_and_evaluate(config, straight)
  for key in ('checkpoints', 'metrics', 'eval', 'eval_grid'):
    assert os.path.exists(out[key]), key
  lines = [json.loads(l) for l in open(out['metrics'])]
  train_lines = [l for l in lines if 'loss' in l]
  assert [l['step'] for l in train_lines] == [2, 4]
  for key in (
    'loss',
    'content',
    'style',
    'tv',
    'learning_rate',
    'grad_norm',
    'images_per_s',
    'gflop_per_step',
    'gflop_per_s',
    'style/relu1_1',
  ):
    assert np.isfinite(train_lines[-1][key]), key
  assert train_lines[-1]['gflop_per_step'] > 1 and 'mfu' not in train_lines[-1]  # no CPU peak
  # The loader alone, timed on the first batches, once beside the first step rate.
  assert train_lines[0]['loader_images_per_s'] > 0
  assert 'loader_images_per_s' not in train_lines[1]
  assert 'eval/mean_style_loss_gram' in lines[-1]
  report = json.load(open(out['eval']))
  assert report['num_styles'] == 2 and len(report['pairs']) == 4
  assert os.path.isfile(os.path.join(straight, 'config.json'))
  events = os.listdir(os.path.join(straight, 'tensorboard'))
  assert any(name.startswith('events.out.tfevents') for name in events)

  resumed = str(tmp_path / 'resumed')
  half = small_config(num_steps=2, checkpoint_every=2, log_every=2, sample_every=0)
  half.optim.decay = 'constant'
  half.optim.warmup_steps = 0
  half.eval.at_end = False  # (the straight run checked the evaluation)
  trainer.train_and_evaluate(half, resumed)
  caplog.set_level('INFO')
  rest = config.copy_and_resolve_references()
  rest.eval.at_end = False
  trainer.train_and_evaluate(rest, resumed)
  assert 'resumed from step 2' in caplog.text
  a, step_a = read_params(straight, config)
  b, step_b = read_params(resumed, config)
  assert step_a == step_b == 4
  diffs = jax.tree.leaves(jax.tree.map(lambda x, y: float(np.max(np.abs(x - y))), a, b))
  assert max(diffs) < 1e-5

  # A config the checkpoints do not fit is refused before it replaces the saved one.
  saved_config = open(os.path.join(resumed, 'config.json')).read()
  wider = small_config(num_steps=6)
  wider.model.tnet.channels = (16, 32, 72)
  with pytest.raises(
    trainer.TrainingError,
    match=r'checkpoints do not fit this config \('
    r'.* is \[128\] in step 4 but \[144\] in the config, and \d+ more',
  ):
    trainer.train_and_evaluate(wider, resumed)
  assert open(os.path.join(resumed, 'config.json')).read() == saved_config


def test_main_reports_a_missing_data_folder_in_one_line(tmp_path, capsys):
  missing = tmp_path / 'nope'
  code = cli_train.main(
    [
      'train',
      '--config',
      'tiny',
      '--workdir',
      str(tmp_path / 'w'),
      '--config.data.source=folders',
      f'--config.data.content_dir={missing}',
      f'--config.data.style_dir={missing}',
      f'--config.data.content_val_dir={missing}',
      f'--config.data.style_val_dir={missing}',
    ]
  )
  err = capsys.readouterr().err.strip()
  assert code == 1
  assert len(err.splitlines()) == 1
  assert str(missing) in err and 'not found' in err


def test_main_needs_config_and_workdir(capsys):
  assert cli_train.main(['train']) == 2
  assert '--config and --workdir are required' in capsys.readouterr().err


def resumable_config():
  config = small_config(num_steps=6, checkpoint_every=3, log_every=1, sample_every=0)
  config.train.eval_every = 0
  config.eval.at_end = False
  return config


def read_events(folder):
  """(file name, step, what) of every TensorBoard event record below `folder`."""
  from tensorboardX.proto import event_pb2

  found = []
  for name in sorted(os.listdir(folder)):
    data = open(os.path.join(folder, name), 'rb').read()
    offset = 0
    while offset < len(data):
      length = int.from_bytes(data[offset : offset + 8], 'little')
      event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
      offset += 12 + length + 4
      what = event.WhichOneof('what')
      detail = event.session_log.status if what == 'session_log' else what
      found.append((name, event.step, detail))
  return found


def test_a_resume_after_a_crash_logs_each_step_once(tmp_path):
  workdir = str(tmp_path / 'crashed')
  trainer.train_and_evaluate(resumable_config(), workdir)
  assert checkpointing.step_folders(os.path.join(workdir, 'checkpoints')) == [3, 6]
  # As if killed after logging step 6 but before its checkpoint was written.
  shutil.rmtree(os.path.join(workdir, 'checkpoints', '6'))
  trainer.train_and_evaluate(resumable_config(), workdir)
  steps = [json.loads(line)['step'] for line in open(os.path.join(workdir, 'metrics.jsonl'))]
  assert steps == [1, 2, 3, 4, 5, 6]
  events = read_events(os.path.join(workdir, 'tensorboard'))
  files = sorted({name for name, _, _ in events})
  assert len(files) == 2
  # The second file starts by purging the steps after 3, then logs 4-6 again.
  from tensorboardX.proto import event_pb2

  purge = [
    (step, what) for name, step, what in events if name == files[1] and what != 'file_version'
  ]
  assert purge[0] == (4, event_pb2.SessionLog.START)
  assert sorted({step for step, what in purge[1:] if what == 'summary'}) == [4, 5, 6]


def test_a_damaged_checkpoint_is_named_and_the_previous_step_offered(tmp_path, capsys):
  workdir = str(tmp_path / 'damaged')
  trainer.train_and_evaluate(resumable_config(), workdir)
  step_dir = os.path.join(workdir, 'checkpoints', '6')
  digests = checkpointing.file_digests(step_dir)
  biggest = max(digests, key=lambda n: os.path.getsize(os.path.join(step_dir, n)))
  path = os.path.join(step_dir, biggest)
  data = bytearray(open(path, 'rb').read())
  data[len(data) // 2] ^= 0x01
  open(path, 'wb').write(bytes(data))
  argv = ['train', '--config', 'tiny', '--workdir', workdir]
  with pytest.raises(checkpointing.CheckpointCorrupt, match='checksum.*use step 3'):
    trainer.train_and_evaluate(resumable_config(), workdir)
  capsys.readouterr()  # (log lines of the run above)
  code = cli_train.main(argv + ['--config.train.num_steps=7'])
  err = capsys.readouterr().err.strip()
  assert code == 1 and len(err.splitlines()) == 1, err
  assert 'checkpoints/6' in err and 'does not match its checksum' in err and 'step 3' in err


def test_hooks_run_every_n_steps_and_at_the_ends_they_name():
  """Log every 2 and at the last step or the budget's end; checkpoint every 3 and at any
  end; no sampling (every 0); evaluate every 2 but not on the last step."""
  train = small_config(log_every=2, checkpoint_every=3, sample_every=0, eval_every=2).train
  names = ('log', 'checkpoint', 'sample', 'evaluate')
  due = hooks.training_hooks(train, {name: name for name in names})

  def run_at(step, *ends):
    info = hooks.StepInfo(step, {}, frozenset(ends))
    return [hook.name for hook in due if hook.due(info)]

  assert [hook.name for hook in due] == list(names)
  assert [run_at(step) for step in range(1, 7)] == [
    [],
    ['log', 'evaluate'],
    ['checkpoint'],
    ['log', 'evaluate'],
    [],
    ['log', 'checkpoint', 'evaluate'],
  ]
  assert run_at(8, hooks.LAST) == ['log', 'checkpoint']  # the end evaluates on its own
  assert run_at(5, hooks.STOP) == ['checkpoint']
  assert run_at(5, hooks.BUDGET) == ['log', 'checkpoint']
  sampling = small_config(sample_every=4).train
  sample = hooks.training_hooks(sampling, {name: name for name in names})[2]
  assert [s for s in range(1, 10) if sample.due(hooks.StepInfo(s, {}, frozenset()))] == [4, 8]
  assert sample.due(hooks.StepInfo(9, {}, frozenset({hooks.LAST})))
