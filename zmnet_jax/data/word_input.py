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

"""Word-labelled training batches: every content is paired with a random training word.

PNet reads the word's vector; the style loss sees a photo of that word, drawn from the
word's own style stream (`config.signals.words`: word -> folder of photos).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ml_collections
import numpy as np

from zmnet_jax.data import train_input as train_input_lib


class WordStyleInput:
  """{'content', 'style', 'signal'} batches: each element gets a random training word.

  Wraps a TrainInput with one style stream per word ('style:<word>'); the word of each
  element is drawn from a generator seeded by (seed, batch index), so the sequence is
  deterministic and resumes exactly with the wrapped input's state.
  """

  def __init__(self, train_input, words: Sequence[str], signals: np.ndarray, seed: int):
    self._input = train_input
    self._words = list(words)
    self._signals = np.asarray(signals, np.float32)
    self._seed = seed
    self._batches = 0

  def __iter__(self):
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    batch = next(self._input)
    rng = np.random.default_rng([self._seed, self._batches])
    self._batches += 1
    choice = rng.integers(0, len(self._words), size=batch['content'].shape[0])
    per_word = np.stack([batch[f'style:{w}'] for w in self._words])  # [W, B, ...]
    styles = per_word[choice, np.arange(len(choice))]
    return {'content': batch['content'], 'style': styles, 'signal': self._signals[choice]}

  def get_state(self) -> dict:
    return {'input': self._input.get_state(), 'batches': self._batches}

  def set_state(self, state: Mapping) -> None:
    self._input.set_state(state['input'])
    self._batches = int(state['batches'])

  def close(self) -> None:
    self._input.close()


def make_word_style_input(data_config, signals_config, vocab, global_batch: int, seed: int):
  data_config = ml_collections.ConfigDict(data_config.to_dict())
  data_config.style_dirs = dict(signals_config.words)
  train_input = train_input_lib.make_train_input(data_config, global_batch, seed)
  return WordStyleInput(train_input, vocab.words, vocab.training_signals(), seed)
