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

"""Paper-scale recipe: 256 px crops, serial PNet on style images, VGG19 (Caffe) losses.

Trains on the embedded default data unless `data` points at real folders; see
`shared_data.py` for the real recipe. Run:

  python -m zmnet_jax.train --config default --workdir runs/default
  python -m zmnet_jax.train --config default:tiny --workdir runs/tiny   # or --config tiny

`:tiny` is the CPU-sized variant (64 px, slim TNet, a fraction of a second per step), the
one every config offers under that name.
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The base config; `arg` 'tiny' is the CPU-sized variant."""
  check_variant(arg)
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.dtype = 'float32'  # compute dtype; 'bfloat16' on accelerators. Params stay float32.
  config.mesh = [('data', -1)]  # -1: all remaining devices. Add ('model', k) to shard width.
  config.distributed = False  # True: call jax.distributed.initialize() (multi-host).
  # Explicit multi-process settings (else JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
  # JAX_PROCESS_ID); see zmnet_jax/distributed.py and launch/local_multihost.sh.
  config.cluster = ml_collections.ConfigDict(
    dict(coordinator_address='', num_processes=0, process_id=-1)
  )
  # A params file or workdir to start from (fine-tuning), with a fresh optimizer; used
  # only while the workdir has no checkpoint (a resume continues its own run).
  config.init_from = ''

  config.model = ml_collections.ConfigDict()
  config.model.tnet = ml_collections.ConfigDict(
    dict(channels=(32, 64, 128), num_residual_blocks=5, base_affine=False, fast_padding=True)
  )
  config.model.pnet = ml_collections.ConfigDict(
    dict(variant='serial', signal='image', width=256, vector_blocks=2, signal_dim=0)
  )

  config.vgg = ml_collections.ConfigDict(dict(arch='vgg19', weights='', pooling='max'))

  config.loss = ml_collections.ConfigDict()
  # Caffe VGG19 activations are large (inputs in 0-255): these weights bring each term to
  # about 1-2 for a photo against a different photo (content) or a painting (style, per
  # layer), measured on scikit-image samples. Retune them for VGG16 or 'mean_std'.
  config.loss.content_weights = ml_collections.ConfigDict({'relu4_1': 1e-6})
  config.loss.style_weights = ml_collections.ConfigDict(
    {'relu1_1': 2e-3, 'relu2_1': 5e-5, 'relu3_1': 5e-5, 'relu4_1': 1e-6}
  )
  config.loss.style_kind = 'gram'  # or 'mean_std'
  config.loss.tv_weight = 5.0

  config.data = ml_collections.ConfigDict()
  config.data.source = 'embedded'  # 'embedded' (wheels' sample images) or 'folders'
  config.data.content_dir = ''
  config.data.style_dir = ''
  config.data.content_val_dir = ''
  config.data.style_val_dir = ''
  config.data.data_dir = ''  # where TFDS prepares datasets; '' = <cache>/tfds
  config.data.content_size = 256
  config.data.style_size = 256
  config.data.resize_short_side = 256
  config.data.style_resize_short_side = 256
  # > 0: PNet reads each style whole, resized to this side (as inference encodes a style),
  # while the loss compares with the crop; 0: PNet reads the crop.
  config.data.style_view_size = 0
  config.data.store_short_side = 512
  config.data.num_workers = 0

  config.optim = ml_collections.ConfigDict(
    dict(
      learning_rate=1e-3,
      warmup_steps=1000,
      decay='cosine',
      end_learning_rate_factor=0.01,
      b1=0.9,
      b2=0.999,
      eps=1e-8,
      weight_decay=0.0,
      grad_clip_norm=1.0,
    )
  )

  config.train = ml_collections.ConfigDict(
    dict(
      num_steps=40_000,
      batch_size=8,
      log_every=50,
      checkpoint_every=1000,
      keep_checkpoints=3,
      sample_every=1000,
      eval_every=5000,
      # Seconds of training (0: no budget), from the first step: the schedule's length is
      # fixed from the measured step time and the run saves and exports when it is spent.
      max_seconds=0.0,
      # Batches the loader alone is timed on at the start (0: none), set in the log beside
      # the step's images/s; the run trains on them, in order.
      input_probe_batches=4,
    )
  )

  config.eval = ml_collections.ConfigDict(
    dict(num_contents=8, num_styles=16, image_size=256, style_size=256, batch_styles=4)
  )
  # Evaluate held-out styles at the end of training (needs the LPIPS and style-ratio VGGs,
  # fetched on first use; off for an offline machine that has only the training VGG).
  config.eval.at_end = True

  if arg == 'tiny':
    shrink_for_cpu(config)
  return config


def check_variant(arg: str | None, variants=('tiny',)) -> None:
  """Refuses a variant name the config does not know (a typo would be ignored)."""
  if arg not in (None, '', *variants):
    offers = ', '.join(repr(v) for v in variants) or 'none'
    raise ValueError(f'unknown config variant {arg!r}; this config offers {offers}')


def shrink_for_cpu(config: ml_collections.ConfigDict) -> None:
  """A slim TNet, tiny images and few steps: seconds per step on a laptop CPU."""
  config.model.tnet.channels = (16, 32, 64)
  config.model.tnet.num_residual_blocks = 2
  config.model.pnet.width = 64
  config.data.content_size = 64
  config.data.style_size = 64
  config.data.resize_short_side = 72
  config.data.style_resize_short_side = 72
  config.data.store_short_side = 128
  config.optim.warmup_steps = 20
  config.train.num_steps = 300
  config.train.batch_size = 4
  config.train.log_every = 25
  config.train.checkpoint_every = 100
  config.train.sample_every = 100
  config.train.eval_every = 0
  config.eval.num_contents = 3
  config.eval.num_styles = 3
  config.eval.image_size = 64
  config.eval.style_size = 64
