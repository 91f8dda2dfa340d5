"""Trains PNet and TNet jointly, end to end, with VGG perceptual losses.

  python -m zmnet_jax.train --config configs/tiny.py --workdir runs/tiny

Every start resumes from the latest checkpoint in `WORKDIR/checkpoints`. Outputs:
`metrics.jsonl`, TensorBoard events under `tensorboard/`, sample grids under `samples/`,
and `eval.json` + `eval.png` from the held-out evaluation at the end.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import threading
import time
from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections
import optax

from zmnet_jax import attributes, checkpointing, data, evaluation, input_pipeline, signals
from zmnet_jax import model as model_lib, sharding
from zmnet_jax.metrics_writer import MetricsWriter, format_duration
from zmnet_jax.train_state import TrainState, init_train_state, make_optimizer

log = logging.getLogger('zmnet_jax.train')


class TrainingError(RuntimeError):
  """A run that cannot go on (non-finite loss, bad config); the message is for the user."""


def train_step(model: model_lib.Model, tx, schedule: Callable, state: TrainState,
               batch, vgg_params) -> tuple[TrainState, dict[str, jax.Array]]:
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
      rng=jax.random.fold_in(state.rng, state.step))
  metrics = dict(terms, loss=loss, grad_norm=grad_norm, finite=finite,
                 learning_rate=schedule(state.step))
  return new_state, metrics


def create_sharded_state(model, tx, config, vgg_params, batch_shapes, mesh):
  """Initializes the train state directly into its shardings (eval_shape -> jit)."""
  init = functools.partial(init_train_state, model, tx, batch_shapes=batch_shapes)
  rng = jax.random.PRNGKey(config.seed)
  abstract = jax.eval_shape(init, rng, vgg_params)
  state_shardings = sharding.state_shardings(mesh, abstract)
  state = jax.jit(init, out_shardings=state_shardings)(rng, vgg_params)
  return state, state_shardings


def compile_train_step(model, tx, schedule, mesh, state_shardings, batch_shapes):
  batch_shardings = {k: sharding.batch_sharding(mesh) for k in batch_shapes}
  replicated = sharding.replicated(mesh)
  return jax.jit(
      functools.partial(train_step, model, tx, schedule),
      in_shardings=(state_shardings, batch_shardings, replicated),
      out_shardings=(state_shardings, replicated),
      donate_argnums=(0,))


class StopRequest:
  """Turns SIGTERM (preemption) into a flag the loop checks after each step."""

  def __init__(self):
    self.requested = False
    self._previous = None

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def _handle(self, signum, frame):
    del signum, frame
    log.warning('SIGTERM received: saving a checkpoint and stopping')
    self.requested = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def interval_means(metrics_list) -> dict[str, float]:
  """Means of each metric over the steps since the last log line."""
  host = jax.device_get(metrics_list)
  return {k: float(sum(float(m[k]) for m in host) / len(host)) for k in host[0]}


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, str]:
  """Trains (resuming from the latest checkpoint), then evaluates held-out styles.

  Returns the paths of what it wrote: checkpoints, samples, metrics and eval report.
  """
  if config.distributed:
    jax.distributed.initialize()
  os.makedirs(workdir, exist_ok=True)
  mesh = sharding.create_mesh(config.mesh)
  num_steps = config.train.num_steps
  global_batch = config.train.batch_size
  sharding.check_batch_divisible(global_batch, mesh)

  datasets = data.resolve_datasets(config)
  vocab = None
  if config.model.pnet.signal == 'vector':
    vocab = signals.build_vocabulary(config.signals)
    config.model.pnet.signal_dim = vocab.dim
  train_input = data.make_train_input(datasets, config, global_batch, config.seed, vocab)
  model, vgg_params = model_lib.build_model(config)
  vgg_params = jax.device_put(vgg_params, sharding.replicated(mesh))
  tx, schedule = make_optimizer(config.optim, num_steps)
  batch_shapes = data.batch_shapes(config, global_batch)
  state, state_shardings = create_sharded_state(model, tx, config, vgg_params, batch_shapes,
                                                mesh)
  step_fn = compile_train_step(model, tx, schedule, mesh, state_shardings, batch_shapes)

  ckpt = checkpointing.Checkpointer(os.path.join(workdir, 'checkpoints'),
                                    config.train.checkpoint_every,
                                    config.train.keep_checkpoints)
  try:
    state = ckpt.restore_latest(state, train_input)
  except checkpointing.CheckpointMismatch as e:
    raise TrainingError(
        f'{ckpt.directory}: the checkpoints do not fit this config ({e}); train in a new '
        f'--workdir, or resume with the config saved in '
        f'{os.path.join(workdir, checkpointing.CONFIG_FILE)}') from e
  checkpointing.save_config(config, workdir)  # Only once the checkpoints fit it.
  if vocab is not None:
    signals.save_vocabulary(vocab, workdir)
  start_step = int(state.step)
  if start_step:
    log.info('resumed from step %d', start_step)

  evaluator = Evaluator(model, vgg_params, config, datasets, vocab, workdir, mesh)
  writer = MetricsWriter(workdir, enabled=jax.process_index() == 0)
  outputs = {'workdir': workdir, 'checkpoints': ckpt.directory,
             'metrics': writer.jsonl_path, 'samples': os.path.join(workdir, 'samples')}
  try:
    with StopRequest() as stop:
      state = run_train_loop(config, state, step_fn, train_input, vgg_params, mesh, ckpt,
                             writer, stop, evaluator)
    if not stop.requested:
      writer.write_scalars(int(state.step), evaluator.evaluate(state.params, int(state.step)))
      outputs.update(eval=os.path.join(workdir, 'eval.json'),
                     eval_grid=os.path.join(workdir, 'eval.png'))
  finally:
    writer.close()
    ckpt.close()
    train_input.close()
  return outputs


class Evaluator:
  """Sample grids and held-out evaluation: styles x contents, or words x contents."""

  def __init__(self, model, vgg_params, config, datasets, vocab, workdir, mesh):
    self.model, self.vgg_params, self.config = model, vgg_params, config
    self.vocab, self.workdir, self.mesh = vocab, workdir, mesh
    if vocab is None:
      self.held_out = evaluation.load_held_out(datasets, config)
    else:
      self.contents = input_pipeline.load_eval_images(
          datasets.content_val, config.eval.image_size, limit=config.eval.num_contents)[1]

  def sample(self, params, step: int) -> None:
    path = os.path.join(self.workdir, 'samples', f'step_{step:07d}')
    if self.vocab is None:
      evaluation.save_sample_grid(self.model, params, self.vgg_params, self.held_out,
                                  path + '.png')
    else:
      self._evaluate_words(params, step, path, log_table=False)

  def evaluate(self, params, step: int) -> dict[str, float]:
    """Writes eval.json and eval.png; returns scalars for the metrics log."""
    prefix = os.path.join(self.workdir, 'eval')
    if self.vocab is not None:
      report = self._evaluate_words(params, step, prefix)
      table = report['style_loss_vs_references']
      return {f'eval/{word}/{ref}': v for word, row in table.items()
              for ref, v in row.items() if isinstance(v, float)}
    report = evaluation.evaluate_and_report(self.model, params, self.vgg_params,
                                            self.held_out, prefix, self.config.eval,
                                            step=step, mesh=self.mesh)
    return {f'eval/{k}': v for k, v in report.items() if isinstance(v, float)}

  def _evaluate_words(self, params, step, prefix, log_table=True):
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    return attributes.evaluate_and_report(
        self.model, params, self.vgg_params, self.vocab, self.contents, self.config.signals,
        self.config.eval.image_size, prefix, step, log_table)


def run_train_loop(config, state, step_fn, train_input, vgg_params, mesh, ckpt, writer,
                   stop, evaluator: Evaluator):
  """Steps until `num_steps`; logs, checkpoints, samples and evaluates along the way."""
  num_steps = config.train.num_steps
  step = int(state.step)
  tc = config.train
  start_time, start_step = time.time(), step
  pending = None  # (step, metrics) of the previous step: read one step late, no stall.
  interval_start, interval_images, interval_metrics = time.time(), 0, []
  while step < num_steps:
    batch = data.to_global_batch(next(train_input), mesh)
    state, metrics = step_fn(state, batch, vgg_params)
    step += 1
    interval_images += tc.batch_size
    interval_metrics.append(metrics)
    if pending is not None:
      check_finite(*pending, ckpt)
    pending = (step, metrics)
    if step % tc.log_every == 0 or step == num_steps:
      check_finite(step, metrics, ckpt)
      scalars = interval_means(interval_metrics)
      scalars['learning_rate'] = float(metrics['learning_rate'])
      scalars['images_per_s'] = interval_images / max(time.time() - interval_start, 1e-9)
      writer.write_scalars(step, scalars)
      log_progress(step, num_steps, scalars, start_time, start_step)
    if ckpt.should_save(step) or step == num_steps or stop.requested:
      check_finite(step, metrics, ckpt)
      ckpt.save(step, state, train_input)
    if tc.sample_every and (step % tc.sample_every == 0 or step == num_steps):
      evaluator.sample(state.params, step)
    if tc.eval_every and step % tc.eval_every == 0 and step != num_steps:
      writer.write_scalars(step, evaluator.evaluate(state.params, step))
    if step % tc.log_every == 0:
      interval_start, interval_images, interval_metrics = time.time(), 0, []
    if stop.requested:
      log.warning('stopped at step %d on request; rerun the same command to resume', step)
      break
  ckpt.wait()
  return state


def check_finite(step: int, metrics, ckpt) -> None:
  if not bool(metrics['finite']):
    ckpt.wait()
    last = ckpt.latest_step()
    raise TrainingError(
        f'non-finite loss or gradient at step {step} (loss={float(metrics["loss"])}); '
        f'stopped. The last good checkpoint is step {last} in {ckpt.directory}; try a '
        f'lower optim.learning_rate or loss weights')


def log_progress(step, num_steps, scalars, start_time, start_step):
  done = step - start_step
  rate = done / max(time.time() - start_time, 1e-9)
  eta = (num_steps - step) / rate if rate > 0 else float('inf')
  log.info('step %d/%d  loss %.4g (content %.3g, style %.3g, tv %.3g)  lr %.2e  '
           '%.1f img/s  ETA %s', step, num_steps, scalars['loss'], scalars['content'],
           scalars['style'], scalars['tv'], scalars['learning_rate'],
           scalars['images_per_s'], format_duration(eta))


def setup_logging() -> None:
  """Our progress lines at INFO; the libraries' chatter (absl, orbax, tfds) at WARNING."""
  logging.basicConfig(level=logging.WARNING, format='%(asctime)s %(message)s',
                      datefmt='%H:%M:%S', force=True)
  logging.getLogger('zmnet_jax').setLevel(logging.INFO)
  logging.getLogger('absl').setLevel(logging.ERROR)  # tfds' per-builder config notices


def main(argv=None) -> int:
  """`python -m zmnet_jax.train --config configs/x.py --workdir DIR [--config.a.b=v]`."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  from ml_collections import config_flags  # pylint: disable=g-import-not-at-top

  argv = sys.argv if argv is None else argv
  flags_ = flags.FlagValues()
  config_flags.DEFINE_config_file('config', None, 'Config file (configs/x.py[:arg]).',
                                  flag_values=flags_, lock_config=True, sys_argv=argv)
  flags.DEFINE_string('workdir', None, 'Where checkpoints, metrics and samples go.',
                      flag_values=flags_)
  sys.path.insert(0, os.getcwd())
  try:
    flags_(argv)
  except flags.Error as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  if flags_.config is None or not flags_.workdir:
    print('error: --config and --workdir are required, e.g. '
          'python -m zmnet_jax.train --config configs/tiny.py --workdir runs/tiny',
          file=sys.stderr)
    return 2
  setup_logging()
  try:
    outputs = train_and_evaluate(flags_.config, flags_.workdir)
  except (TrainingError, ValueError, OSError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  print(json.dumps(outputs, indent=2))
  return 0


if __name__ == '__main__':
  sys.exit(main())
