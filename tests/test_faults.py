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

"""Faults of the world around a training run: a checkpoint folder that turns read-only or
fills up. Each ends the run with one line naming the folder, a non-zero status, and the
earlier checkpoints as they were; none hangs (subprocesses with timeouts)."""

import contextlib
import logging
import os
import subprocess
import sys

import pytest

from zmnet_jax import checkpointing
from zmnet_jax.cli import common
from zmnet_jax.training import trainer

from conftest import small_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The CLI flags of conftest.small_config (the same run from the command line).
SMALL_FLAGS = [
  '--config',
  'tiny',
  '--config.data.content_size=32',
  '--config.data.style_size=32',
  '--config.data.resize_short_side=40',
  '--config.data.style_resize_short_side=40',
  '--config.data.store_short_side=64',
  '--config.eval.at_end=False',
  '--config.train.checkpoint_every=2',
  '--config.train.sample_every=0',
]


def train_cli(workdir, steps, timeout=240):
  """Runs `python -m zmnet_jax.train` on the small config in a subprocess."""
  argv = [*SMALL_FLAGS, f'--workdir={workdir}', f'--config.train.num_steps={steps}']
  return subprocess.run(
    [sys.executable, '-m', 'zmnet_jax.train', *argv],
    capture_output=True,
    text=True,
    timeout=timeout,
    cwd=REPO,
    env=dict(os.environ, PYTHONPATH=REPO),
  )


@contextlib.contextmanager
def read_only(folder):
  """`folder` read-only for this process: by its mode, or (as root, whom modes do not
  stop) by a read-only bind mount; skips where neither is possible."""
  if os.geteuid() != 0:
    os.chmod(folder, 0o555)
    try:
      yield
    finally:
      os.chmod(folder, 0o755)
    return
  mount = ['mount', '--bind', str(folder), str(folder)]
  if subprocess.run(mount, capture_output=True).returncode:
    pytest.skip('root without mount(8) rights: cannot make a read-only folder here')
  try:
    remount = ['mount', '-o', 'remount,bind,ro', str(folder)]
    subprocess.run(remount, check=True, capture_output=True)
    yield
  finally:
    subprocess.run(['umount', str(folder)], check=True)


def test_a_read_only_checkpoint_folder_ends_the_run_with_one_line(tmp_path):
  workdir = tmp_path / 'run'
  first = train_cli(workdir, 2)
  assert first.returncode == 0, first.stderr
  checkpoints = workdir / 'checkpoints'
  before = sorted(os.listdir(checkpoints))
  with read_only(checkpoints):
    result = train_cli(workdir, 4)  # resumes at step 2; step 4 cannot be saved
  errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
  assert result.returncode == 1, result.stderr
  assert 'Traceback' not in result.stderr
  assert errors == [
    f'error: {checkpoints}: step 4 could not be saved (Read-only file system); step 2 is intact'
  ]
  assert sorted(os.listdir(checkpoints)) == before


def test_a_full_disk_is_found_before_orbax_writes(tmp_path, monkeypatch):
  """The step's bytes against the free space: one error naming both, nothing written."""
  config = small_config(num_steps=4, checkpoint_every=2, sample_every=0)
  config.eval.at_end = False
  trainer.train_and_evaluate(config, str(tmp_path))
  checkpoints = tmp_path / 'checkpoints'
  usage = checkpointing.shutil.disk_usage(checkpoints)
  monkeypatch.setattr(checkpointing.shutil, 'disk_usage', lambda path: usage._replace(free=200_000))
  config.train.num_steps = 6
  with pytest.raises(checkpointing.CheckpointUnwritable) as raised:
    trainer.train_and_evaluate(config, str(tmp_path))
  message = str(raised.value)
  assert message.startswith(f'{checkpoints}: step 6 could not be saved (No space left on device')
  assert '0.2 MB are free' in message and message.endswith('step 4 is intact')
  needed = float(message.split('needs ~')[1].split(' MB')[0])
  assert 4.0 < needed < 8.0  # the model, Adam's two moments, and 1 MB
  assert checkpointing.step_folders(checkpoints) == [2, 4]


@pytest.fixture
def small_disk(tmp_path):
  """A 600 kB tmpfs (skips where it cannot be mounted)."""
  disk = tmp_path / 'disk'
  disk.mkdir()
  mount = ['mount', '-t', 'tmpfs', '-o', 'size=600k', 'tmpfs', str(disk)]
  if subprocess.run(mount, capture_output=True).returncode:
    pytest.skip('cannot mount a tmpfs here (needs root)')
  yield disk
  subprocess.run(['umount', str(disk)], check=True)


def test_a_disk_that_fills_while_orbax_writes_is_one_error_not_a_flood(
  small_disk, monkeypatch, capfd, caplog
):
  """Past the check (the disk fills during the write): orbax's workers fail; their
  tracebacks are not shown, the partial folder is removed, the error is one line."""
  monkeypatch.setattr(checkpointing.Checkpointer, '_check_room', lambda *args: None)
  config = small_config(num_steps=2, checkpoint_every=2, sample_every=0)
  config.eval.at_end = False
  with caplog.at_level(logging.INFO), pytest.raises(checkpointing.CheckpointUnwritable) as raised:
    trainer.train_and_evaluate(config, str(small_disk))
  assert str(raised.value).startswith(
    f'{small_disk}/checkpoints: step 2 could not be saved (No space left on device: it needs'
  )
  assert str(raised.value).endswith('no earlier step was saved')
  assert 'Traceback' not in capfd.readouterr().err
  assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
  assert os.listdir(small_disk / 'checkpoints') == []


def test_a_failed_command_does_not_wait_for_stuck_threads():
  """Library threads still waiting after the error (orbax's, for a save that failed)
  would keep the process alive: the command's exit leaves them."""
  code = (
    'import threading, sys\n'
    'from zmnet_jax.cli import common\n'
    'threading.Thread(target=threading.Event().wait).start()\n'
    'common.exit_if_threads_stuck(1)\n'
    'sys.exit(1)\n'
  )
  result = subprocess.run(
    [sys.executable, '-c', code], timeout=60, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO)
  )
  assert result.returncode == 1
  common.exit_if_threads_stuck(0)  # a success returns (and this process goes on)
