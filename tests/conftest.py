"""Shared test setup: a persistent XLA compilation cache so repeated compiles are cheap."""

import os

import jax
import pytest


@pytest.fixture(autouse=True, scope='session')
def compilation_cache(tmp_path_factory):
  path = os.environ.get('ZMNET_JAX_TEST_COMPILE_CACHE') or str(
      tmp_path_factory.mktemp('xla_cache'))
  jax.config.update('jax_compilation_cache_dir', path)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 1.0)
  yield


@pytest.fixture(scope='session')
def trained_workdir(tmp_path_factory):
  """A workdir holding a `tiny` image-signal model trained for 40 steps (64 px)."""
  from configs import tiny  # pylint: disable=g-import-not-at-top
  from zmnet_jax import train  # pylint: disable=g-import-not-at-top
  config = tiny.get_config()
  config.train.update(num_steps=40, checkpoint_every=40, log_every=20, sample_every=0)
  config.eval.update(num_contents=2, num_styles=2)
  workdir = str(tmp_path_factory.mktemp('trained'))
  train.train_and_evaluate(config, workdir)
  return workdir
