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

"""Shared test setup: one persistent XLA compilation cache and XLA's cheap compile for the
run and its subprocesses, the order pytest-xdist hands files out in, session fixtures that
its workers build once and share, and small helpers the test files share."""

import contextlib
import fcntl
import os
import pathlib

# The suite runs on the CPU, here and in its subprocesses: with libtpu installed (the [test]
# extra has it, for the TPU compilation tests) jax would otherwise try to open a TPU in
# every process, flooding stderr and contending for libtpu's lock. A TPU or GPU run of the
# suite sets JAX_PLATFORMS itself.
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import jax  # noqa: E402
import numpy as np
import pytest

# The files pytest-xdist hands out first (`--dist loadfile`, in this order; the rest
# follow in name order): the longest, so that none of them starts last and runs alone.
LONGEST_FIRST = (
  'test_aot.py',
  'test_train_stops.py',
  'test_distributed.py',
  'test_attributes.py',
  'test_multidevice.py',
  'test_device_script.py',
  'test_train.py',
  'test_models.py',
  'test_inference.py',
  'test_onnx.py',
  'test_evaluate.py',
  'test_stylize.py',
  'test_export.py',
  'test_distill.py',
  'test_demo.py',
  'test_video.py',
)

# Compilations slower than this are cached on disk. Low: most of the suite's compiles
# take 0.2-2 s and are repeated by later tests and by the subprocesses.
MIN_CACHED_COMPILE_SECONDS = 0.2


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: same order inside


def shared_folder(tmp_path_factory) -> pathlib.Path:
  """This run's temporary folder that every pytest-xdist worker sees (the base otherwise)."""
  base = tmp_path_factory.getbasetemp()
  return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


@contextlib.contextmanager
def locked(path: pathlib.Path):
  """An exclusive lock on `path` (a file) across processes."""
  with open(path, 'a') as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


def built_once(tmp_path_factory, name: str, build) -> str:
  """The folder `name` of this run, filled by `build(folder)` in the first worker to ask."""
  root = shared_folder(tmp_path_factory)
  folder, done = root / name, root / f'{name}.done'
  with locked(root / f'{name}.lock'):
    if not done.exists():
      folder.mkdir(exist_ok=True)
      build(str(folder))
      done.touch()
  return str(folder)


@pytest.fixture(autouse=True, scope='session')
def compilation_settings(tmp_path_factory):
  """The cache and XLA's cheap compile, set here and in the environment so that
  subprocesses (`python -m ...`) share them.

  Most tests compile far more than they run: with `jax_disable_most_optimizations` (as
  flax's own tests) the whole suite took 558 s instead of 666 s, every test passing. Tests
  that compare with recorded numbers, or run long, are marked `optimized` and compile as
  users' runs do.
  """
  path = os.environ.get('ZMNET_JAX_TEST_COMPILE_CACHE') or str(
    shared_folder(tmp_path_factory) / 'xla_cache'
  )
  os.environ['JAX_COMPILATION_CACHE_DIR'] = path
  os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'] = str(MIN_CACHED_COMPILE_SECONDS)
  os.environ['JAX_DISABLE_MOST_OPTIMIZATIONS'] = '1'
  jax.config.update('jax_compilation_cache_dir', path)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', MIN_CACHED_COMPILE_SECONDS)
  jax.config.update('jax_disable_most_optimizations', True)
  yield


@contextlib.contextmanager
def xla_optimized():
  """XLA's full optimizations inside (in this process and the ones it starts)."""
  cheap = os.environ.pop('JAX_DISABLE_MOST_OPTIMIZATIONS', None)  # set with the config
  jax.config.update('jax_disable_most_optimizations', False)
  try:
    yield
  finally:
    if cheap is not None:
      os.environ['JAX_DISABLE_MOST_OPTIMIZATIONS'] = cheap
      jax.config.update('jax_disable_most_optimizations', True)


@pytest.fixture(autouse=True)
def optimized_when_marked(request):
  marked = request.node.get_closest_marker('optimized')
  with xla_optimized() if marked else contextlib.nullcontext():
    yield


@pytest.fixture(scope='session')
def trained_workdir(tmp_path_factory):
  """A workdir holding a `tiny` image-signal model trained for 40 steps (64 px)."""
  from zmnet_jax.configs import default
  from zmnet_jax.training import trainer

  def train(workdir):
    config = default.get_config('tiny')
    config.train.update(num_steps=40, checkpoint_every=40, log_every=20, sample_every=0)
    config.eval.update(num_contents=2, num_styles=2)
    with xla_optimized():  # 40 steps: running costs more than compiling here
      trainer.train_and_evaluate(config, workdir)

  return built_once(tmp_path_factory, 'trained', train)


@pytest.fixture(scope='session')
def word_folders(tmp_path_factory):
  """Two 'attribute' photo folders and a content folder made from the embedded images."""
  from zmnet_jax.data import embedded as embedded_data

  root = built_once(tmp_path_factory, 'embedded', embedded_data.materialize_embedded_data)
  return embedded_data.materialize_embedded_data(root)  # (the paths; written once above)


@pytest.fixture(scope='session')
def trained_word_workdir(tmp_path_factory, word_folders):
  """A workdir holding a tiny word-signal model ('noon' vs 'night') trained 10 steps."""
  from zmnet_jax.configs import attributes
  from zmnet_jax.training import trainer

  def train(workdir):
    trainer.train_and_evaluate(word_config(attributes.get_config('tiny'), word_folders), workdir)

  return built_once(tmp_path_factory, 'trained_words', train)


def small_config(**train_overrides):
  """`tiny` at 32 px with 2 x 2 evaluation pairs, `config.train` updated."""
  from zmnet_jax.configs import default

  config = default.get_config('tiny')
  config.data.content_size = config.data.style_size = 32
  config.data.resize_short_side = config.data.style_resize_short_side = 40
  config.data.store_short_side = 64
  config.eval.image_size = config.eval.style_size = 32
  config.eval.num_contents = config.eval.num_styles = 2
  config.train.update(train_overrides)
  return config


def random_batch(config, seed=0):
  """A batch of uniform noise images shaped as `config` trains on."""
  rng = np.random.default_rng(seed)
  b, c, s = config.train.batch_size, config.data.content_size, config.data.style_size
  return {
    'content': rng.uniform(size=(b, c, c, 3)).astype(np.float32),
    'style': rng.uniform(size=(b, s, s, 3)).astype(np.float32),
  }


def new_training(config):
  """(fresh sharded state, jitted train step, mesh, VGG params) of `config`, as the trainer
  builds them."""
  from zmnet_jax import sharding
  from zmnet_jax.models import model as model_lib
  from zmnet_jax.training import state as train_state, trainer

  model, vgg_params = model_lib.build_model(config)
  mesh = sharding.create_mesh(config.mesh)
  tx, schedule = train_state.make_optimizer(config.optim, config.train.num_steps)
  shapes = model_lib.batch_shapes(config, config.train.batch_size)
  state, shardings = trainer.create_sharded_state(model, tx, config, vgg_params, shapes, mesh)
  step = trainer.compile_train_step(model, tx, schedule, mesh, shardings, shapes)
  return state, step, mesh, vgg_params


def word_config(config, folders):
  """The attributes config pointed at embedded folders, shrunk for tests."""
  config.data.content_dir = folders['content_train']
  config.data.content_val_dir = folders['content_val']
  config.signals.words = {'noon': folders['content_train'], 'night': folders['style_train']}
  config.signals.references = {
    'noon': folders['content_train'],
    'night': folders['style_train'],
    'dusk': folders['style_val'],
  }
  config.signals.eval_words = ('noon', 'evening', '0.5 morning + 0.5 night', 'night')
  config.data.content_size = config.data.style_size = 32
  config.data.resize_short_side = config.data.style_resize_short_side = 40
  config.data.store_short_side = 64
  config.eval.image_size = config.eval.style_size = 32
  config.eval.num_contents = 2
  config.train.update(num_steps=10, checkpoint_every=10, log_every=5, sample_every=0)
  return config
