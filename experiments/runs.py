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

"""The experiments' building blocks: training and evaluation runs through the project's
commands (each a subprocess, as a user would run it), style subsets, results as JSON.

A run whose workdir already holds its exported model is not trained again, so a cut-off
experiment goes on where it stopped (the trainer itself resumes from its checkpoints).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time

import numpy as np

from zmnet_jax import files
from zmnet_jax.data import image_files
from zmnet_jax.evaluation import comparison, protocol as protocol_lib
from zmnet_jax.training import model_card


@dataclasses.dataclass(frozen=True)
class Scale:
  """How big every experiment is: the CPU pointer here, the paper's size elsewhere."""

  config: str  # the training config, variant included
  steps: int  # steps of every training run (a fixed budget, compared like with like)
  style_counts: tuple[int, ...]  # training styles per run of claim 3 (0: all)
  grid: tuple[int, int]  # held-out grid: (styles, contents)
  pairs: int  # val512 protocol pairs per model
  finetune_styles: int  # claim 6: held-out styles, each fine-tuned on alone
  finetune_steps: int
  attribute_steps: int  # claim 2
  speed_sizes: tuple[int, ...]  # claim 1: content sides timed
  frames: int  # claim 4: frames of the animation, at the smallest speed size
  batch: int = 4  # every training run's batch
  overrides: tuple[str, ...] = ()  # --config.X=Y flags for every training run
  images_per_second: float = 0.0  # the training rate the cost estimate assumes


# This 2-core CPU: 64 px crops, a slim TNet, minutes per run; a pointer, not the paper.
CPU = Scale(
  'shared_data:tiny',
  steps=600,
  style_counts=(20, 200, 2000, 0),
  grid=(24, 12),
  pairs=24,
  finetune_styles=3,
  finetune_steps=150,
  attribute_steps=400,
  speed_sizes=(256, 512, 1024),
  frames=24,
  overrides=('--config.train.log_every=100',),
)
SCALES = {
  # Seconds: the smallest runs that exercise every step (tests/test_reproduce.py).
  'test': dataclasses.replace(
    CPU,
    steps=3,
    style_counts=(4, 8),
    grid=(2, 2),
    pairs=2,
    finetune_styles=1,
    finetune_steps=2,
    attribute_steps=3,
    speed_sizes=(64,),
    frames=3,
    overrides=('--config.train.log_every=1', '--config.train.input_probe_batches=0'),
  ),
  'cpu': CPU,
  # The paper's size: 256 px crops, the full TNet, 40k steps of batch 8 per run; on an
  # accelerator (the v5e-8 roofline bounds `tpu` at ~2,459 img/s: launch/README.md).
  'full': dataclasses.replace(
    CPU,
    config='shared_data',
    steps=40_000,
    grid=(120, 100),
    pairs=240,
    finetune_styles=8,
    finetune_steps=2_000,
    attribute_steps=20_000,
    frames=48,
    batch=8,
    overrides=(),
    images_per_second=2_459.0,
  ),
}


@dataclasses.dataclass(frozen=True)
class Setting:
  """One experiment's inputs: its scale, the data root, and where it writes."""

  scale: Scale
  data: str  # ../shared/data
  out: str

  def data_dir(self, *parts: str) -> str:
    return os.path.join(self.data, *parts)


def command(args: list[str], log: str) -> float:
  """Runs `python -m ...args` with its output in `log`; seconds of CPU it used. A failure
  names the command and the log's last lines."""
  os.makedirs(os.path.dirname(log), exist_ok=True)
  start = os.times()
  with open(log, 'a') as f:
    print('$ python ' + ' '.join(args), file=f, flush=True)
    code = subprocess.call([sys.executable, *args], stdout=f, stderr=subprocess.STDOUT)
  end = os.times()
  if code:
    with open(log) as f:
      tail = ''.join(f.readlines()[-5:])
    raise RuntimeError(f'{" ".join(args[:2])} failed ({code}); {log} ends:\n{tail}')
  return (end.children_user - start.children_user) + (end.children_system - start.children_system)


@dataclasses.dataclass(frozen=True)
class Trained:
  """A finished training run: its workdir, exported model, and what it cost."""

  workdir: str
  model: str
  cpu_seconds: float
  wall_seconds: float


def train(
  setting: Setting, name: str, steps: int, *overrides: str, config: str | None = None
) -> Trained:
  """The run `name` (OUT/runs/NAME), trained for `steps` unless already exported, with
  `config` (default: the scale's) and the scale's and these `--config.X=Y` overrides."""
  workdir = os.path.join(setting.out, 'runs', name)
  model = os.path.join(workdir, model_card.EXPORT_FILE)
  cost_file = os.path.join(workdir, 'experiment_cost.json')
  if os.path.exists(model) and os.path.exists(cost_file):
    with open(cost_file) as f:
      return Trained(workdir, model, **json.load(f))
  os.makedirs(workdir, exist_ok=True)
  scale = setting.scale
  args = [
    '-m', 'zmnet_jax.train', '--config', config or scale.config, '--workdir', workdir,
    f'--config.data.root={setting.data}', f'--config.train.num_steps={steps}',
    f'--config.train.batch_size={scale.batch}', '--config.eval.at_end=False',
    *scale.overrides, *overrides,
  ]  # fmt: skip
  print(f'train {name}: {steps} steps', file=sys.stderr, flush=True)
  start = time.time()
  cpu = command(args, os.path.join(setting.out, 'runs', f'{name}.log'))
  cost = {'cpu_seconds': round(cpu, 1), 'wall_seconds': round(time.time() - start, 1)}
  write_json(cost_file, cost)
  return Trained(workdir, model, **cost)


def grid(setting: Setting, model: str, name: str, train_styles: str | None = None) -> dict:
  """Held-out grid (style/val x content/val, the training loss terms at the training
  size) of `model`; with `train_styles`, the same terms on those styles (the gap)."""
  out = os.path.join(setting.out, 'grids', name)
  report = os.path.join(out, 'metrics.json')
  if not os.path.exists(report):
    styles, contents = setting.scale.grid
    args = [
      '-m', 'zmnet_jax.evaluate', '--model', model, '--out', out, '--overwrite',
      '--content', setting.data_dir('content', 'val'), '--styles', setting.data_dir('style', 'val'),
      '--limit-styles', str(styles), '--limit-contents', str(contents),
    ]  # fmt: skip
    if train_styles:
      args += ['--train-styles', train_styles, '--limit-train-styles', str(styles)]
    command(args, os.path.join(setting.out, 'grids', f'{name}.log'))
  with open(report) as f:
    return json.load(f)


def protocol(setting: Setting, model: str, name: str, styles: str | None = None) -> str:
  """The val512 protocol's result folder for `model` (on `styles` instead of its own)."""
  out = os.path.join(setting.out, 'protocol', name)
  if not os.path.exists(os.path.join(out, 'metrics.json')):
    args = [
      '-m', 'zmnet_jax.evaluate', '--protocol', 'val512', '--model', model, '--out', out,
      '--data', setting.data, '--limit-pairs', str(setting.scale.pairs), '--overwrite',
    ]  # fmt: skip
    if styles:
      args += ['--styles', styles]
    command(args, os.path.join(setting.out, 'protocol', f'{name}.log'))
  return out


def protocol_means(folder: str) -> dict:
  with open(os.path.join(folder, 'metrics.json')) as f:
    return json.load(f)['by_strength']['1.00']['mean']


def compare(a: str, b: str) -> dict:
  """Paired differences B - A of two protocol results at strength 1 (the protocol's own
  pairing and bootstrap): {'num_pairs': n, score: {mean_a, mean_b, difference, low, high}}."""
  rows = [protocol_lib.read_pairs_csv(os.path.join(d, 'pairs.csv')) for d in (a, b)]
  block = comparison.compare(*rows)['1.00']
  scores = {k: dataclasses.asdict(v) for k, v in block['scores'].items()}
  return {'num_pairs': block['num_pairs'], **scores}


def style_subset(setting: Setting, count: int, exclude: tuple[str, ...] = ()) -> str:
  """A folder of links to `count` training styles spread evenly over the sorted list (all
  with 0), leaving out `exclude`: every movement and texture class in proportion."""
  folder = os.path.join(setting.out, 'styles', f'train_{count or "all"}')
  if count == 0:
    return setting.data_dir('style', 'train')
  if not os.path.isdir(folder):
    paths = [
      p for p in image_files.list_images(setting.data_dir('style', 'train')) if p not in exclude
    ]
    pick = np.linspace(0, len(paths) - 1, count).round().astype(int)
    link_folder(folder, [paths[i] for i in pick])
  return folder


def held_out_training_styles(setting: Setting, subset: str, count: int) -> list[str]:
  """`count` training styles outside `subset`, spread over the list: styles no model of
  claim 3 below 'all' has seen, for fine-tuning (style/val is never trained on)."""
  seen = {os.path.realpath(p) for p in image_files.list_images(subset)}
  paths = [
    p
    for p in image_files.list_images(setting.data_dir('style', 'train'))
    if os.path.realpath(p) not in seen
  ]
  pick = np.linspace(0, len(paths) - 1, count + 2).round().astype(int)[1:-1]
  return [paths[i] for i in pick]


def link_folder(folder: str, paths: list[str]) -> None:
  """A folder of symbolic links to `paths`, written whole (a temporary name, renamed)."""
  with files.atomic_folder(folder) as tmp:
    for i, path in enumerate(paths):
      os.symlink(os.path.abspath(path), os.path.join(tmp, f'{i:05d}_{os.path.basename(path)}'))


def count_images(folder: str) -> int:
  return len(image_files.list_images(folder))


def write_json(path: str, data: dict) -> None:
  """Written whole or not at all (a temporary name, renamed)."""
  files.write_json(path, data)
