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

"""Inference: load a trained model (params only) and stylize images with any signal.

  core      the jitted encode / transform / statistics functions, shardings declared
  tiling    images of any size: stride padding, exact tiles, whole-image statistics
  color     colour preservation
  regions   spatial control: a signal per region of a mask
  loading   finding a model (workdir or params file) and reading its params
  stylizer  `Stylizer`, the API: encode signals once, stylize many images

Imports nothing from training: no optimizer, no orbax (until a workdir is read), no
grain or TFDS.
"""

from zmnet_jax.infer.color import preserve_color
from zmnet_jax.infer.loading import InferenceError
from zmnet_jax.infer.stylizer import Stylizer, mix

__all__ = ['InferenceError', 'Stylizer', 'mix', 'preserve_color']
