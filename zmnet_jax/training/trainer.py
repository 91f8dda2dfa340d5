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

from collections.abc import Callable
import contextlib
import functools
import logging
import os
import signal
import threading
import time

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
from zmnet_jax.signals import vocabulary
from zmnet_jax.training import config_checks, export as export_lib, input_probe, step_cost
from zmnet_jax.training.budget import Budget
from zmnet_jax.training.metrics_writer import MetricsWriter, format_duration
from zmnet_jax.training.state import TrainState, init_train_state, make_optimizer

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
  os.makedirs(workdir, exist_ok=True)
  mesh = sharding.create_mesh(config.mesh)
  num_steps = config.train.num_steps
  global_batch = config.train.batch_size
  sharding.check_batch_divisible(global_batch, mesh)

  datasets = datasets_lib.resolve_datasets(config)
  vocab = None
  if config.model.pnet.signal == 'vector':
    vocab = vocabulary.build_vocabulary(config.signals)
    config.model.pnet.signal_dim = vocab.dim
  ckpt_dir = os.path.join(workdir, workdir_lib.CHECKPOINTS)
  if jax.process_index() == 0 and not checkpointing.step_folders(ckpt_dir):
    workdir_lib.check_fresh_config(config, workdir)  # before anything is written
  train_input = datasets_lib.make_train_input(datasets, config, global_batch, config.seed, vocab)
  model, vgg_params = model_lib.build_model(config)
  vgg_params = jax.device_put(vgg_params, sharding.replicated(mesh))
  tx, _ = make_optimizer(config.optim, num_steps)
  batch_shapes = model_lib.batch_shapes(config, global_batch)
  state, state_shardings = create_sharded_state(model, tx, config, vgg_params, batch_shapes, mesh)

  ckpt = checkpointing.Checkpointer(
    ckpt_dir,
    config.train.checkpoint_every,
    config.train.keep_checkpoints,
  )
  try:
    state = ckpt.restore_latest(state, train_input)
  except checkpointing.CheckpointMismatch as e:
    raise TrainingError(
      f'{ckpt.directory}: the checkpoints do not fit this config ({e}); train in a new '
      f'--workdir, or resume with the config saved in '
      f'{os.path.join(workdir, workdir_lib.CONFIG_FILE)}'
    ) from e
  start_step = int(state.step)
  if start_step:
    log.info('resumed from step %d', start_step)
  elif config.get('init_from'):
    params = initial_params(config.init_from, model, config, vgg_params, state_shardings.params)
    state = state.replace(params=params)
  if jax.process_index() == 0:  # Only once the checkpoints and init_from fit it.
    workdir_lib.save_config(config, workdir)
    if vocab is not None:
      vocabulary.save_vocabulary(vocab, workdir)
  budget = Budget.create(config.train, ckpt.restored_run)

  def compile_for(schedule_steps: int):
    """The train step with the schedule `schedule_steps` long (same optimizer state)."""
    tx, schedule = make_optimizer(config.optim, schedule_steps)
    return compile_train_step(model, tx, schedule, mesh, state_shardings, batch_shapes)

  evaluator = Evaluator(model, vgg_params, config, datasets, vocab, workdir, mesh)
  writer = MetricsWriter(workdir, enabled=jax.process_index() == 0, resume_step=start_step)
  outputs = {
    'workdir': workdir,
    'checkpoints': ckpt.directory,
    'metrics': writer.jsonl_path,
    'samples': os.path.join(workdir, 'samples'),
    'stopped': False,
  }
  try:
    with StopRequest() as stop:
      state = run_train_loop(
        config,
        state,
        compile_for,
        budget,
        train_input,
        vgg_params,
        mesh,
        ckpt,
        writer,
        stop,
        evaluator,
      )
    outputs['stopped'] = stop.requested
    if not stop.requested and config.eval.get('at_end', True):
      writer.write_scalars(int(state.step), evaluator.evaluate(state.params, int(state.step)))
      outputs.update(
        eval=os.path.join(workdir, 'eval.json'), eval_grid=os.path.join(workdir, 'eval.png')
      )
    if jax.process_index() == 0:
      seconds = time.time() - run_start
      export_lib.record_run(
        workdir, start_step, int(state.step), seconds, global_batch, stop.requested
      )
      outputs['params'] = export_lib.export_params(
        workdir, config, state.params, int(state.step), vocab
      )
  finally:
    writer.close()
    ckpt.close()
    train_input.close()
  return outputs


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


def run_train_loop(
  config,
  state,
  compile_for,
  budget: Budget,
  train_input,
  vgg_params,
  mesh,
  ckpt,
  writer,
  stop,
  evaluator: Evaluator,
):
  """Steps to the end of the schedule (or of the time budget); logs, checkpoints,
  samples and evaluates along the way. `compile_for(schedule_steps)` gives the step."""
  num_steps = budget.schedule_steps
  step = int(state.step)
  tc = config.train
  if step >= num_steps:
    return state
  train_input = input_probe.ReadAhead(train_input)
  loader = train_input.probe(
    tc.get('input_probe_batches', 4), jax.process_count(), config.data.get('num_workers', 0)
  )
  if loader:
    log.info('%s', loader.summary())
  batch = to_global_batch(next(train_input), mesh)
  budget.start()
  step_fn, cost = compiled_step(compile_for(num_steps), (state, batch, vgg_params), config)
  budget.compiled()
  log.info('%s', cost.summary())
  start_time, start_step = time.time(), step
  pending = None  # (step, metrics) of the previous step: read one step late, no stall.
  interval_start, interval_images, interval_metrics = time.time(), 0, []
  while step < num_steps:
    if batch is None:
      batch = to_global_batch(next(train_input), mesh)
    state, metrics = step_fn(state, batch, vgg_params)
    batch = None
    step += 1
    interval_images += tc.batch_size
    interval_metrics.append(metrics)
    if pending is not None:
      check_finite(*pending, ckpt)
    pending = (step, metrics)
    if fixed := budget.measure(step, start_step):
      step_fn, num_steps = compile_for(fixed), fixed
    out_of_time = budget.expired()
    if out_of_time:
      log.warning('time budget (train.max_seconds) spent at step %d: saving', step)
    if step % tc.log_every == 0 or step == num_steps or out_of_time:
      check_finite(step, metrics, ckpt)
      scalars = interval_means(interval_metrics)
      scalars['learning_rate'] = float(metrics['learning_rate'])
      seconds = max(time.time() - interval_start, 1e-9)
      scalars['images_per_s'] = interval_images / seconds
      scalars.update(cost.rates(len(interval_metrics), seconds))
      if loader:  # once, beside the first measured step rate
        scalars['loader_images_per_s'] = loader.images_per_s
        log.log(*loader.compare(scalars['images_per_s']))
        loader = None
      writer.write_scalars(step, scalars)
      log_progress(step, num_steps, scalars, start_time, start_step)
    if ckpt.should_save(step) or step == num_steps or stop.requested or out_of_time:
      check_finite(step, metrics, ckpt)
      ckpt.save(step, state, train_input, budget.run_info())
    if tc.sample_every and (step % tc.sample_every == 0 or step == num_steps):
      evaluator.sample(state.params, step)
    if tc.eval_every and step % tc.eval_every == 0 and step != num_steps:
      writer.write_scalars(step, evaluator.evaluate(state.params, step))
    if step % tc.log_every == 0:
      interval_start, interval_images, interval_metrics = time.time(), 0, []
    if stop.requested:
      log.warning('stopped at step %d on request; rerun the same command to resume', step)
      break
    if out_of_time:
      break
  ckpt.wait()
  return state


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
