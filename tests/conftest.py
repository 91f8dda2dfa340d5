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
