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

"""The release recipe on one large GPU, in a time budget: the shipped model, trained on.

The same slim model as `release_cpu` (so the result replaces the shipped `fast` model and
stays fast on CPUs), started from the shipped params, bfloat16, a large batch, the data of
a bundle made by launch/device_bundle.py, and `train.max_seconds` of training. Run
(see launch/README.md; `launch/device_train.sh` does all of it):

  python -m zmnet_jax.train --config release_gpu --config.bundle=BUNDLE_DIR \\
      --workdir runs/gpu_release

`--config.bundle` (default `.device_bundle`) is the folder the data paths are read from;
`:tiny` is the recipe at CPU size (float32, 64 px crops, batch 4), for a smoke run.
"""

import os

import ml_collections

from zmnet_jax.configs import default, release_cpu

SHIPPED = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'pretrained', 'fast.safetensors')


# The data fields and their names in a bundle (launch/device_bundle.py writes them).
BUNDLE_FOLDERS = {
  'content_dir': 'content_train.npz',
  'style_dir': 'style_train.npz',
  'content_val_dir': 'content_val',
  'style_val_dir': 'style_val',
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """`arg` 'tiny' is the CPU-sized variant; the bundle is `config.bundle`."""
  default.check_variant(arg)
  config = release_cpu.get_config()
  for field in ('root', *BUNDLE_FOLDERS):  # shared_data's, under data.root: replaced
    del config.data[field]
  config.bundle = ml_collections.FieldReference('.device_bundle')
  bundle = config.get_ref('bundle')  # the data paths follow --config.bundle
  config.dtype = 'bfloat16'
  config.init_from = SHIPPED
  config.data.update({field: bundle + f'/{name}' for field, name in BUNDLE_FOLDERS.items()})
  config.data.update(
    data_dir='',
    store_short_side=512,  # as release_cpu: the bundle's 224 px styles are enlarged to 512
    num_workers=8,
  )
  config.vgg.weights = bundle + '/vgg19_to_relu4_1.npz'
  config.optim.update(learning_rate=1e-3, warmup_steps=100)
  config.train.update(
    num_steps=100_000,
    batch_size=128,
    max_seconds=480.0,
    log_every=50,
    checkpoint_every=500,
    keep_checkpoints=1,
    sample_every=0,
    eval_every=0,
  )
  # Offline: no LPIPS / style-ratio VGGs there; evaluate the exported model afterwards.
  config.eval.update(num_contents=8, num_styles=8, image_size=512, style_size=256, at_end=False)
  if arg == 'tiny':
    shrink_for_cpu(config)
  return config


def shrink_for_cpu(config: ml_collections.ConfigDict) -> None:
  """The same model on 64 px crops, batch 4, float32, in-process input (a smoke run)."""
  config.dtype = 'float32'
  config.data.update(
    num_workers=0, content_size=64, style_size=64, resize_short_side=72, style_resize_short_side=72
  )
  config.train.update(batch_size=4, log_every=5)
  config.eval.update(image_size=64, style_size=64, num_contents=2, num_styles=2)
