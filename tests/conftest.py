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

"""Shared test setup: a persistent XLA compilation cache so repeated compiles are cheap."""

import os

import jax
import pytest


@pytest.fixture(autouse=True, scope='session')
def compilation_cache(tmp_path_factory):
  path = os.environ.get('ZMNET_JAX_TEST_COMPILE_CACHE') or str(tmp_path_factory.mktemp('xla_cache'))
  jax.config.update('jax_compilation_cache_dir', path)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 1.0)
  yield


@pytest.fixture(scope='session')
def trained_workdir(tmp_path_factory):
  """A workdir holding a `tiny` image-signal model trained for 40 steps (64 px)."""
  from zmnet_jax.configs import default
  from zmnet_jax.training import trainer

  config = default.get_config('tiny')
  config.train.update(num_steps=40, checkpoint_every=40, log_every=20, sample_every=0)
  config.eval.update(num_contents=2, num_styles=2)
  workdir = str(tmp_path_factory.mktemp('trained'))
  trainer.train_and_evaluate(config, workdir)
  return workdir


@pytest.fixture(scope='session')
def word_folders(tmp_path_factory):
  """Two 'attribute' photo folders and a content folder made from the embedded images."""
  from zmnet_jax.data import embedded as embedded_data

  root = tmp_path_factory.mktemp('embedded')
  return embedded_data.materialize_embedded_data(str(root))


@pytest.fixture(scope='session')
def trained_word_workdir(tmp_path_factory, word_folders):
  """A workdir holding a tiny word-signal model ('noon' vs 'night') trained 10 steps."""
  from zmnet_jax.configs import attributes
  from zmnet_jax.training import trainer

  config = word_config(attributes.get_config('tiny'), word_folders)
  workdir = str(tmp_path_factory.mktemp('trained_words'))
  trainer.train_and_evaluate(config, workdir)
  return workdir


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
