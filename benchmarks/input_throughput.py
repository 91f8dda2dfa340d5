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


"""Is the input pipeline ever the bottleneck? The loader alone, per number of workers.

  python benchmarks/input_throughput.py --config release_cpu --workers 0,2,4

Builds the config's training stream (the same folders, crops and batch as training; the
folders are prepared on first use) with each `data.num_workers`, skips `--warmup` batches
(worker start-up, prefetch), then times `--batches` batches: images/s of the loader alone,
to set beside the train step's images/s (`benchmarks/train_throughput.py`, or the
`images_per_s` of a run's metrics.jsonl). Grain's threads read and decode in every case;
workers are separate processes on top.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from zmnet_jax import configs
from zmnet_jax.data import datasets


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--config', default='release_cpu', help='config name[:variant] or file')
  p.add_argument('--workers', default='0,2,4')
  p.add_argument('--batches', type=int, default=20)
  p.add_argument('--warmup', type=int, default=3)
  p.add_argument('--out', help='write the rows as JSON')
  return p.parse_args(argv)


def loader_rate(config, workers: int, batches: int, warmup: int) -> float:
  """Images/s of the training stream with `workers` Grain worker processes."""
  config.data.num_workers = workers
  folders = datasets.resolve_datasets(config)
  batch = config.train.batch_size
  stream = datasets.make_train_input(folders, config, batch, config.seed)
  try:
    for _ in range(warmup):
      next(stream)
    start = time.perf_counter()
    for _ in range(batches):
      next(stream)
    return batches * batch / (time.perf_counter() - start)
  finally:
    stream.close()


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  rows = []
  for workers in (int(w) for w in args.workers.split(',')):
    config = configs.load(args.config)
    rate = loader_rate(config, workers, args.batches, args.warmup)
    rows.append({'workers': workers, 'images_per_s': rate})
    print(f'{args.config}: {workers} workers: {rate:.1f} images/s', flush=True)
  if args.out:
    with open(args.out, 'w') as f:
      json.dump({'config': args.config, 'rows': rows}, f, indent=2)
  return 0


if __name__ == '__main__':
  sys.exit(main())
