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

"""The loader probe: timed batches are trained on in order, and the state stays exact."""

import logging
import time

import numpy as np

from zmnet_jax.training import input_probe


class CountingInput:
  """Batches of `size` rows holding their batch index; the state is the next index."""

  def __init__(self, size=2, seconds_per_batch=0.0):
    self.size, self.seconds, self.next_index = size, seconds_per_batch, 0

  def __next__(self):
    time.sleep(self.seconds)
    batch = {'content': np.full((self.size, 1), self.next_index)}
    self.next_index += 1
    return batch

  def get_state(self):
    return {'next': self.next_index}


def test_probed_batches_are_trained_on_in_order_and_the_state_is_the_next_one():
  source = CountingInput(size=2, seconds_per_batch=0.02)
  reader = input_probe.ReadAhead(source)
  rate = reader.probe(3, process_count=2, workers=0)
  assert source.next_index == 4  # one warm-up batch and three timed
  assert rate.batches == 3 and 0 < rate.images_per_s <= 2 * 2 / 0.02
  assert rate.images_per_s > 0.5 * 2 * 2 / 0.02  # 2 rows x 2 processes per 20 ms batch
  assert reader.get_state() == {'next': 0}
  assert int(next(reader)['content'][0, 0]) == 0
  assert reader.get_state() == {'next': 1}
  assert [int(next(reader)['content'][0, 0]) for _ in range(4)] == [1, 2, 3, 4]
  assert reader.get_state() == {'next': 5}


def test_no_probe_reads_nothing_ahead():
  source = CountingInput()
  reader = input_probe.ReadAhead(source)
  assert reader.probe(0, 1, 0) is None
  assert source.next_index == 0 and reader.get_state() == {'next': 0}


def test_a_slow_loader_is_a_warning():
  rate = input_probe.LoaderRate(images_per_s=12.0, batches=4, workers=2)
  level, line = rate.compare(10.0)
  assert level == logging.WARNING and 'raise data.num_workers' in line and '1.2x' in line
  level, line = rate.compare(2.0)
  assert level == logging.INFO and '6.0x the step' in line
  assert '12.0 img/s (2 Grain worker processes, timed on 4 batches)' in rate.summary()
