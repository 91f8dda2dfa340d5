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

"""How a training run stops: a non-finite loss, a signal (from the command line), a time budget."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import ml_collections
import numpy as np
import pytest

from zmnet_jax.cli import train as cli_train
from zmnet_jax.training import budget as budget_lib, state as train_state, trainer

from conftest import small_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_non_finite_loss_stops_with_a_clear_message(tmp_path):
  config = small_config(num_steps=3, checkpoint_every=1, log_every=1, sample_every=0)
  config.loss.style_weights['relu1_1'] = 3e38  # a valid number whose loss overflows float32
  with pytest.raises(trainer.TrainingError, match='non-finite loss.*step 1'):
    trainer.train_and_evaluate(config, str(tmp_path / 'nan'))


@pytest.mark.slow
@pytest.mark.parametrize(
  'signum, workers',
  [(signal.SIGTERM, 2), (signal.SIGINT, 0)],
  ids=['SIGTERM-2-workers', 'SIGINT'],
)
def test_a_signal_saves_a_checkpoint_and_stops_resumable(tmp_path, signum, workers):
  """From the command line, also with Grain worker processes (absl flags unparsed)."""
  workdir = tmp_path / 'preempted'
  args = [
    sys.executable,
    '-m',
    'zmnet_jax.train',
    '--config',
    'tiny',
    '--workdir',
    str(workdir),
    '--config.train.num_steps=100000',
    '--config.train.log_every=1',
    '--config.train.checkpoint_every=100000',
    '--config.train.sample_every=0',
    '--config.data.content_size=32',
    '--config.data.style_size=32',
    '--config.eval.image_size=32',
    '--config.eval.style_size=32',
    f'--config.data.num_workers={workers}',
  ]
  env = dict(
    os.environ,
    PYTHONPATH=REPO,
    JAX_COMPILATION_CACHE_DIR=jax.config.jax_compilation_cache_dir or '',
  )
  proc = subprocess.Popen(
    args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
  )
  metrics = workdir / 'metrics.jsonl'
  deadline = time.time() + 600
  while time.time() < deadline and proc.poll() is None:
    if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
      break
    time.sleep(0.5)
  proc.send_signal(signum)
  _, err = proc.communicate(timeout=300)
  assert proc.returncode == cli_train.EXIT_STOPPED, err[-2000:]
  assert f'{signum.name} received' in err and 'rerun the same command to resume' in err
  assert 'Traceback' not in err
  assert 'the loader alone reads' in err and f'({workers} Grain worker processes' in err
  logged = [json.loads(l)['step'] for l in metrics.read_text().splitlines()]
  saved = sorted(int(p) for p in os.listdir(workdir / 'checkpoints') if p.isdigit())
  assert saved and saved[-1] >= max(logged) >= 2
  assert not (workdir / 'eval.json').exists()  # a preempted run does not evaluate


def checkpoint_run_info(workdir):
  with open(
    os.path.join(workdir, 'checkpoints', str(latest_step(workdir)), 'run', 'metadata')
  ) as f:
    return json.load(f)


def latest_step(workdir):
  return max(int(d) for d in os.listdir(os.path.join(workdir, 'checkpoints')) if d.isdigit())


@pytest.mark.slow
def test_time_budget_fixes_the_schedule_stops_saves_exports_and_resumes_it(tmp_path):
  config = small_config(num_steps=100_000, checkpoint_every=0, log_every=1, sample_every=0)
  config.optim.warmup_steps = 2
  config.train.max_seconds = 40.0  # 12 timed steps, then a recompile (10-20 s on busy cores)
  workdir = str(tmp_path / 'budget')
  out = trainer.train_and_evaluate(config, workdir)
  run = checkpoint_run_info(workdir)
  stopped = latest_step(workdir)
  assert run['fixed'] and 12 < run['schedule_steps'] < 100_000
  assert 12 < stopped <= run['schedule_steps']
  assert os.path.isfile(out['params']) and os.path.isfile(out['eval'])
  lines = [json.loads(l) for l in open(out['metrics']) if '"loss"' in l]
  _, schedule = train_state.make_optimizer(config.optim, run['schedule_steps'])
  last = lines[-1]
  assert last['step'] == stopped
  np.testing.assert_allclose(last['learning_rate'], schedule(stopped - 1), rtol=1e-5)
  # A resume keeps the fixed schedule; without a budget it runs to the schedule's end.
  config.train.max_seconds = 0.0
  config.eval.at_end = False  # (evaluated above)
  trainer.train_and_evaluate(config, workdir)
  assert latest_step(workdir) == run['schedule_steps']
  assert checkpoint_run_info(workdir) == run
  lines = [json.loads(l) for l in open(out['metrics']) if '"loss"' in l]
  np.testing.assert_allclose(
    lines[-1]['learning_rate'], schedule(run['schedule_steps'] - 1), rtol=1e-5
  )


def test_a_budget_keeps_the_recompilation_out_of_the_fixed_schedule(monkeypatch):
  """The first compile takes 10 s, a step 1 s, the budget is 100 s: the fixed schedule ends
  at the step where the time runs out, after the recompilation for it (10 s again)."""
  clock = [0.0]
  monkeypatch.setattr(budget_lib.time, 'time', lambda: clock[0])
  budget = budget_lib.Budget.create(
    ml_collections.ConfigDict({'num_steps': 1000, 'max_seconds': 100.0}), {}
  )
  budget.start()
  clock[0] += 10.0
  budget.compiled()
  step, fixed = 0, None
  while not budget.expired() and step != fixed:
    clock[0] += 1.0
    step += 1
    if new := budget.measure(step, 0):
      fixed = new
      clock[0] += 10.0  # the step recompiled for the new schedule (done at the next step)
  # 12 timed steps end at 22 s; 100 - 22 - 10 s leave 68 one-second steps.
  assert (fixed, step, budget.expired()) == (80, 80, True)
  assert budget.run_info() == {'schedule_steps': 80, 'fixed': True}
