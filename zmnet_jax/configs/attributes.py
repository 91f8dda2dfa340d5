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

"""Word / attribute signals (the paper's noon -> night experiment), vector PNet branch.

Trains on `signals.words` (word -> folder of photos that show it; by default noon and
night from ../shared/data/attributes) with ../shared/data/content/train as content, then
manipulates held-out contents with unseen words and mixtures, scoring each against the
noon, night and held-out dusk photos. Run:

  python -m zmnet_jax.train --config attributes --workdir runs/attributes
  python -m zmnet_jax.train --config attributes:tiny --workdir runs/attr_tiny

Other attributes: edit `signals.words` (e.g. {'winter': ..., 'summer': ...}) and
`signals.references`, or set `--config.signals.words.noon=/my/sunny/photos`.
"""

import ml_collections

from zmnet_jax.configs import default, shared_data

EVAL_WORDS = (
  'noon',
  'morning',
  'afternoon',
  '0.5 morning + 0.5 night',
  'evening',
  'night',
  'sunset',
  'dusk',
  'midnight',
)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """`arg` 'tiny' is the CPU smoke variant (small images, few steps)."""
  config = default.get_config(arg)
  root = shared_data.use_shared_data(config)
  config.data.style_dir = config.data.style_val_dir = ''
  config.model.pnet.signal = 'vector'
  config.signals = ml_collections.ConfigDict()
  config.signals.embedder = 'wordllama'  # or a .json/.txt/.npz/.npy word-vector file
  config.signals.reduce_dim = 2  # the paper compresses word embeddings to 2-D; 0 keeps all
  config.signals.words = ml_collections.ConfigDict(
    {'noon': root + '/attributes/noon', 'night': root + '/attributes/night'}
  )
  config.signals.references = ml_collections.ConfigDict(
    {
      'noon': root + '/attributes/noon',
      'night': root + '/attributes/night',
      'dusk': root + '/attributes/dusk',
    }
  )
  config.signals.eval_words = EVAL_WORDS
  config.eval.num_contents = 4
  if arg == 'tiny':
    config.train.num_steps = 200
    config.train.sample_every = 100
  return config
