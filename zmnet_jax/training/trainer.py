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

"""Trains PNet and TNet jointly, end to end, with VGG perceptual losses.

  python -m zmnet_jax.train --config tiny --workdir runs/tiny

Every start resumes from the latest checkpoint in `WORKDIR/checkpoints`. Outputs:
`metrics.jsonl`, TensorBoard events under `tensorboard/`, sample grids under `samples/`,
and `eval.json` + `eval.png` from the held-out evaluation at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import dataclasses
import functools
import logging
import os
import signal
import threading
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from zmnet_jax import checkpointing, distributed, sharding, workdir as workdir_lib
from zmnet_jax.data import datasets as datasets_lib
from zmnet_jax.evaluation.evaluator import Evaluator
from zmnet_jax.infer import loading
from zmnet_jax.models import model as model_lib
from zmnet_jax.training import (
  config_checks,
  hooks as hooks_lib,
  input_probe,
  model_card,
  step_cost,
)
from zmnet_jax.training.budget import Budget
from zmnet_jax.training.metrics_writer import MetricsWriter, format_duration
from zmnet_jax.training.state import TrainState, init_train_state, make_optimizer
from zmnet_jax.words import vocabulary

log = logging.getLogger('zmnet_jax.train')


class TrainingError(RuntimeError):
  """A run that cannot go on (non-finite loss, bad config); the message is for the user."""


def train_step(
  model: model_lib.Model, tx, schedule: Callable, state: TrainState, batch, vgg_params
) -> tuple[TrainState, dict[str, jax.Array]]:
  """One optimizer step. A non-finite loss leaves params and optimizer state unchanged."""

  def loss_fn(params):
    terms, _ = model.loss_terms(params, vgg_params, batch)
    terms = {k: jnp.mean(v) for k, v in terms.items()}
    return terms['total'], terms

  (loss, terms), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  grad_norm = optax.tree.norm(grads)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
  keep_if_finite = lambda new, old: jnp.where(finite, new, old)
  new_state = TrainState(
    step=state.step + 1,
    params=jax.tree.map(keep_if_finite, params, state.params),
    opt_state=jax.tree.map(keep_if_finite, opt_state, state.opt_state),
  )
  metrics = dict(
    terms, loss=loss, grad_norm=grad_norm, finite=finite, learning_rate=schedule(state.step)
  )
  return new_state, metrics


def abstract_state(model, tx, config, vgg_params, batch_shapes, mesh):
  """(the train state's shapes, its shardings over `mesh`), with nothing computed."""
  init = functools.partial(init_train_state, model, tx, batch_shapes=batch_shapes)
  abstract = jax.eval_shape(init, jax.random.PRNGKey(config.seed), vgg_params)
  return abstract, sharding.state_shardings(mesh, abstract)


def create_sharded_state(model, tx, config, vgg_params, batch_shapes, mesh):
  """Initializes the train state directly into its shardings (eval_shape -> jit)."""
  _, state_shardings = abstract_state(model, tx, config, vgg_params, batch_shapes, mesh)
  init = functools.partial(init_train_state, model, tx, batch_shapes=batch_shapes)
  state = jax.jit(init, out_shardings=state_shardings)(jax.random.PRNGKey(config.seed), vgg_params)
  return state, state_shardings


def compile_train_step(model, tx, schedule, mesh, state_shardings, batch_shapes):
  batch_shardings = {k: sharding.batch_sharding(mesh) for k in batch_shapes}
  replicated = sharding.replicated(mesh)
  return jax.jit(
    functools.partial(train_step, model, tx, schedule),
    in_shardings=(state_shardings, batch_shardings, replicated),
    out_shardings=(state_shardings, replicated),
    donate_argnums=(0,),
  )


class StopRequest:
  """Turns SIGTERM (preemption) and Ctrl-C (SIGINT) into a flag the loop checks after
  each step: the run saves a checkpoint and stops. A second Ctrl-C interrupts at once."""

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self.requested = False
    self._previous = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
    return self

  def _handle(self, signum, frame):
    del frame
    if signum == signal.SIGINT and self.requested:
      raise KeyboardInterrupt
    name = signal.Signals(signum).name
    log.warning('%s received: saving a checkpoint and stopping (resumable)', name)
    self.requested = True

  def __exit__(self, *exc):
    for signum, previous in self._previous.items():
      signal.signal(signum, previous)
    self._previous = {}


def interval_means(metrics_list) -> dict[str, float]:
  """Means of each metric over the steps since the last log line."""
  host = jax.device_get(metrics_list)
  return {k: float(sum(float(m[k]) for m in host) / len(host)) for k in host[0]}


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains (resuming from the latest checkpoint), then evaluates held-out styles.

  Returns the paths of what it wrote (checkpoints, samples, metrics, eval report) and
  `stopped`: True when a signal (SIGTERM, Ctrl-C) stopped it early, resumable. The
  workdir is locked for the run (process 0 holds the lock).
  """
  config_checks.check(config)
  distributed.initialize(config)
  lock = workdir_lib.locked(workdir) if jax.process_index() == 0 else contextlib.nullcontext()
  with lock:
    return train_in_workdir(config, workdir)


def train_in_workdir(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """`train_and_evaluate` once the workdir is this run's."""
  run_start = time.time()
  run = open_run(config, workdir)
  try:
    with run.stop:
      run_train_loop(run)
    return finish_run(run, time.time() - run_start)
  finally:
    run.close()


@dataclasses.dataclass
class Interval:
  """The steps since the last log line: their metrics and images, and when it began."""

  metrics: list = dataclasses.field(default_factory=list)
  images: int = 0
  start: float = dataclasses.field(default_factory=time.time)


@dataclasses.dataclass
class Run:
  """One training run: what the loop and its hooks share."""

  config: ml_collections.ConfigDict
  workdir: str
  mesh: jax.sharding.Mesh
  datasets: datasets_lib.DatasetFolders
  model: model_lib.Model
  vgg_params: dict
  vocab: Any
  train_input: Any
  state: TrainState
  state_shardings: Any
  batch_shapes: dict
  checkpointer: checkpointing.Checkpointer
  resumed_at: int = 0  # the step the run started from (0: a fresh run)
  budget: Budget | None = None  # these three: set by open_run once the state is restored
  evaluator: Evaluator | None = None
  writer: MetricsWriter | None = None
  stop: StopRequest = dataclasses.field(default_factory=StopRequest)
  interval: Interval = dataclasses.field(default_factory=Interval)
  loader: input_probe.LoaderRate | None = None  # the input's own rate, logged once
  start: tuple[float, int] = (0.0, 0)  # (time, step) the loop started at: the ETA's base
  cost: step_cost.StepCost | None = None  # the compiled step's FLOPs, for the rates

  def compile_for(self, schedule_steps: int):
    """The train step with the schedule `schedule_steps` long (same optimizer state)."""
    tx, schedule = make_optimizer(self.config.optim, schedule_steps)
    return compile_train_step(
      self.model, tx, schedule, self.mesh, self.state_shardings, self.batch_shapes
    )

  def close(self) -> None:
    if self.writer is not None:
      self.writer.close()
    self.checkpointer.close()
    self.train_input.close()


def open_run(config: ml_collections.ConfigDict, workdir: str) -> Run:
  """The run's state, resumed or fresh (from `init_from`), with its input, checkpointer,
  budget, evaluator and metrics writer. Nothing is written before its inputs are checked."""
  os.makedirs(workdir, exist_ok=True)
  run = build_run(config, workdir)
  try:
    restore(run)
    run.resumed_at = int(run.state.step)
    run.budget = Budget.create(config.train, run.checkpointer.restored_run)
    run.evaluator = Evaluator(
      run.model, run.vgg_params, config, run.datasets, run.vocab, workdir, run.mesh
    )
    run.writer = MetricsWriter(
      workdir, enabled=jax.process_index() == 0, resume_step=run.resumed_at
    )
  except BaseException:
    run.close()
    raise
  return run


def build_run(config: ml_collections.ConfigDict, workdir: str) -> Run:
  """The run's data, model and fresh sharded state (nothing restored yet)."""
  mesh = sharding.create_mesh(config.mesh)
  sharding.check_batch_divisible(config.train.batch_size, mesh)
  datasets = datasets_lib.resolve_datasets(config)
  vocab = None
  if config.model.pnet.signal == 'vector':
    vocab = vocabulary.build_vocabulary(config.signals)
    config.model.pnet.signal_dim = vocab.dim
  ckpt_dir = os.path.join(workdir, workdir_lib.CHECKPOINTS)
  if jax.process_index() == 0 and not checkpointing.step_folders(ckpt_dir):
    workdir_lib.check_fresh_config(config, workdir)  # before anything is written
  global_batch = config.train.batch_size
  train_input = datasets_lib.make_train_input(datasets, config, global_batch, config.seed, vocab)
  model, vgg_params = model_lib.build_model(config)
  vgg_params = jax.device_put(vgg_params, sharding.replicated(mesh))
  tx, _ = make_optimizer(config.optim, config.train.num_steps)  # its state's shapes only
  batch_shapes = model_lib.batch_shapes(config, global_batch)
  state, state_shardings = create_sharded_state(model, tx, config, vgg_params, batch_shapes, mesh)
  train = config.train
  checkpointer = checkpointing.Checkpointer(
    ckpt_dir, train.checkpoint_every, train.keep_checkpoints
  )
  return Run(
    config,
    workdir,
    mesh,
    datasets,
    model,
    vgg_params,
    vocab,
    train_input,
    state,
    state_shardings,
    batch_shapes,
    checkpointer,
  )


def restore(run: Run) -> None:
  """The latest checkpoint into `run.state`, else the params of `init_from`; then the
  config (and vocabulary) saved beside them, once both are known to fit."""
  config, ckpt = run.config, run.checkpointer
  try:
    run.state = ckpt.restore_latest(run.state, run.train_input)
  except checkpointing.CheckpointMismatch as e:
    raise TrainingError(
      f'{ckpt.directory}: the checkpoints do not fit this config ({e}); train in a new '
      f'--workdir, or resume with the config saved in '
      f'{os.path.join(run.workdir, workdir_lib.CONFIG_FILE)}'
    ) from e
  if int(run.state.step):
    log.info('resumed from step %d', int(run.state.step))
  elif config.get('init_from'):
    params = initial_params(
      config.init_from, run.model, config, run.vgg_params, run.state_shardings.params
    )
    run.state = run.state.replace(params=params)
  if jax.process_index() == 0:
    workdir_lib.save_config(config, run.workdir)
    if run.vocab is not None:
      vocabulary.save_vocabulary(run.vocab, run.workdir)


def finish_run(run: Run, seconds: float) -> dict:
  """The end evaluation (unless stopped early), the run record and the params file;
  returns the paths of what the run wrote and whether it was stopped."""
  config, workdir, step = run.config, run.workdir, int(run.state.step)
  outputs = {
    'workdir': workdir,
    'checkpoints': run.checkpointer.directory,
    'metrics': run.writer.jsonl_path,
    'samples': os.path.join(workdir, 'samples'),
    'stopped': run.stop.requested,
  }
  if not run.stop.requested and config.eval.get('at_end', True):
    run.writer.write_scalars(step, run.evaluator.evaluate(run.state.params, step))
    outputs.update(
      eval=os.path.join(workdir, 'eval.json'), eval_grid=os.path.join(workdir, 'eval.png')
    )
  if jax.process_index() == 0:
    model_card.record_run(
      workdir, run.resumed_at, step, seconds, config.train.batch_size, run.stop.requested
    )
    outputs['params'] = model_card.export_params(workdir, config, run.state.params, step, run.vocab)
  return outputs


def run_train_loop(run: Run) -> None:
  """Steps to the end of the schedule, the time budget or a stop request; after each
  step the due hooks log, checkpoint, sample and evaluate (`hooks.training_hooks`)."""
  if int(run.state.step) >= run.budget.schedule_steps:
    return
  due = hooks_lib.training_hooks(run.config.train, HOOK_ACTIONS)
  for info in steps(run):
    for hook in due:
      if hook.due(info):
        hook.action(run, info)
    if hooks_lib.STOP in info.ends:
      log.warning('stopped at step %d on request; rerun the same command to resume', info.step)
    if info.ends & {hooks_lib.STOP, hooks_lib.BUDGET}:
      break
  run.checkpointer.wait()


def steps(run: Run) -> Iterator[hooks_lib.StepInfo]:
  """Runs the steps, yielding after each. Compiles the step first (the budget's clock
  runs from there), checks each step's loss one step late (no stall), and recompiles once
  when the time budget fixes the schedule's length."""
  batch = first_batch(run)
  run.budget.start()
  step_fn, cost = compiled_step(
    run.compile_for(run.budget.schedule_steps), (run.state, batch, run.vgg_params), run.config
  )
  run.budget.compiled()
  log.info('%s', cost.summary())
  step = start_step = int(run.state.step)
  run.start, run.cost, run.interval = (time.time(), step), cost, Interval()
  pending = None  # (step, metrics) of the previous step
  while step < run.budget.schedule_steps:
    batch = batch if batch is not None else to_global_batch(next(run.train_input), run.mesh)
    run.state, metrics = step_fn(run.state, batch, run.vgg_params)
    batch, step = None, step + 1
    run.interval.metrics.append(metrics)
    run.interval.images += run.config.train.batch_size
    if pending is not None:
      check_finite(*pending, run.checkpointer)
    pending = (step, metrics)
    if new_length := run.budget.measure(step, start_step):
      step_fn = run.compile_for(new_length)
    yield hooks_lib.StepInfo(step, metrics, step_ends(run, step))


def first_batch(run: Run) -> dict:
  """Probes the input's own rate (logged beside the first step rate), then reads the
  batch the step is compiled for."""
  run.train_input = input_probe.ReadAhead(run.train_input)
  run.loader = run.train_input.probe(
    run.config.train.get('input_probe_batches', 4),
    jax.process_count(),
    run.config.data.get('num_workers', 0),
  )
  if run.loader:
    log.info('%s', run.loader.summary())
  return to_global_batch(next(run.train_input), run.mesh)


def step_ends(run: Run, step: int) -> frozenset[str]:
  """Which ends of the run `step` is: the schedule's last, a stop request, the budget."""
  ends = set()
  if step == run.budget.schedule_steps:
    ends.add(hooks_lib.LAST)
  if run.stop.requested:
    ends.add(hooks_lib.STOP)
  if run.budget.expired():
    log.warning('time budget (train.max_seconds) spent at step %d: saving', step)
    ends.add(hooks_lib.BUDGET)
  return frozenset(ends)


def log_metrics(run: Run, info: hooks_lib.StepInfo) -> None:
  """The means since the last log line, to metrics.jsonl, TensorBoard and the log."""
  check_finite(info.step, info.metrics, run.checkpointer)
  interval = run.interval
  scalars = interval_means(interval.metrics)
  scalars['learning_rate'] = float(info.metrics['learning_rate'])
  seconds = max(time.time() - interval.start, 1e-9)
  scalars['images_per_s'] = interval.images / seconds
  scalars.update(run.cost.rates(len(interval.metrics), seconds))
  if run.loader:  # once, beside the first measured step rate
    scalars['loader_images_per_s'] = run.loader.images_per_s
    log.log(*run.loader.compare(scalars['images_per_s']))
    run.loader = None
  run.writer.write_scalars(info.step, scalars)
  log_progress(info.step, run.budget.schedule_steps, scalars, *run.start)
  run.interval = Interval()


def save_checkpoint(run: Run, info: hooks_lib.StepInfo) -> None:
  check_finite(info.step, info.metrics, run.checkpointer)
  run.checkpointer.save(info.step, run.state, run.train_input, run.budget.run_info())


def save_samples(run: Run, info: hooks_lib.StepInfo) -> None:
  run.evaluator.sample(run.state.params, info.step)


def evaluate(run: Run, info: hooks_lib.StepInfo) -> None:
  run.writer.write_scalars(info.step, run.evaluator.evaluate(run.state.params, info.step))


HOOK_ACTIONS = {
  'log': log_metrics,
  'checkpoint': save_checkpoint,
  'sample': save_samples,
  'evaluate': evaluate,
}


def initial_params(init_from: str, model, config, vgg_params, shardings):
  """The params of `init_from` (a params file or workdir) placed for training, where a
  fresh optimizer starts from them; TrainingError when they do not fit this config."""
  abstract = model.abstract_params(config, vgg_params)
  try:
    params, step = loading.read_params(loading.resolve_model_path(init_from), abstract)
  except loading.InferenceError as e:
    raise TrainingError(f'config.init_from: {e}') from e
  log.info('starting from the params of %s (step %d), fresh optimizer', init_from, step)
  return jax.device_put(params, shardings)


def compiled_step(step_fn, args, config):
  """(The step compiled ahead of time for `args`, its StepCost): one compile, and the
  compiled step's own FLOP and memory counts."""
  compiled = step_fn.lower(*args).compile()
  devices = jax.tree.leaves(args[1])[0].sharding.device_set
  cost = step_cost.analyze(
    compiled, sorted(devices, key=lambda d: d.id), config.train.batch_size, config.dtype
  )
  return compiled, cost


def to_global_batch(local_batch, mesh) -> dict[str, jax.Array]:
  """Host-local numpy batch -> global arrays sharded over the 'data' axis."""
  target = sharding.batch_sharding(mesh)
  return {
    k: jax.make_array_from_process_local_data(target, np.asarray(v)) for k, v in local_batch.items()
  }


def check_finite(step: int, metrics, ckpt) -> None:
  if not bool(metrics['finite']):
    ckpt.wait()
    last = ckpt.latest_step()
    raise TrainingError(
      f'non-finite loss or gradient at step {step} (loss={float(metrics["loss"])}); '
      f'stopped. The latest checkpoint is step {last} in {ckpt.directory} (saved before '
      f'this step); try a lower optim.learning_rate or loss weights'
    )


def log_progress(step, num_steps, scalars, start_time, start_step):
  done = step - start_step
  rate = done / max(time.time() - start_time, 1e-9)
  eta = (num_steps - step) / rate if rate > 0 else float('inf')
  mfu = f' (MFU {100 * scalars["mfu"]:.1f}%)' if 'mfu' in scalars else ''
  log.info(
    'step %d/%d  loss %.4g (content %.3g, style %.3g, tv %.3g)  lr %.2e  %.1f img/s  '
    '%.1f GFLOP/s%s  ETA %s',
    step,
    num_steps,
    scalars['loss'],
    scalars['content'],
    scalars['style'],
    scalars['tv'],
    scalars['learning_rate'],
    scalars['images_per_s'],
    scalars['gflop_per_s'],
    mfu,
    format_duration(eta),
  )
