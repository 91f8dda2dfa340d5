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


"""Wall time for the benchmarks, one way: a first call (compilation, warm-up) timed apart,
then the steady calls, each waited for (`jax.block_until_ready`: JAX dispatches
asynchronously; other results pass through)."""

from __future__ import annotations

from collections.abc import Callable
import statistics
import time

import jax


def timed(fn: Callable[[], object]) -> float:
  """Seconds of one call of `fn`, its result ready."""
  start = time.perf_counter()
  jax.block_until_ready(fn())
  return time.perf_counter() - start


def steady_times(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
  """(seconds of the first call, seconds of each of the `repeats` calls after it)."""
  first = timed(fn)
  return first, [timed(fn) for _ in range(repeats)]


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
  """The median steady call, after one call that is not counted."""
  return statistics.median(steady_times(fn, repeats)[1])
