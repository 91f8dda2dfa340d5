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

"""zmnet_jax: ZM-Net, real-time zero-shot image manipulation, in JAX/Flax.

The inference API is importable from the package: `zmnet_jax.Stylizer`, `zmnet_jax.mix`,
`zmnet_jax.preserve_color`, `zmnet_jax.InferenceError` (loaded on first use, so
`import zmnet_jax` stays light). The subpackages, from the bottom up:

  models      ZM-Net (DIN, TNet, PNet, their contract), VGG, losses, `Model`
  data        image files and arrays, prepared folders, the training stream
  words       word embeddings, expressions, reduction, the word vocabulary
  infer       params-only loading, compiled inference, tiling, `Stylizer`
  portable    ONNX export and the ONNX Runtime backend
  video       clips: PyAV input/output, statistics over frames, the streamed pipeline
  app         the web app (`zmnet-demo`): request engine, Gradio page and API, server
  evaluation  held-out scores (LPIPS, SSIM, style losses), word evaluation
  training    the sharded, jitted train step and loop
  cli         the commands (train, stylize, evaluate, animate, export, demo)
  configs     the experiment configs (`--config tiny` or a path)
"""

import importlib

__version__ = '0.1.0'
_INFERENCE_EXPORTS = ('Stylizer', 'InferenceError', 'mix', 'preserve_color')
__all__ = list(_INFERENCE_EXPORTS)


def __getattr__(name):
  if name in _INFERENCE_EXPORTS:
    return getattr(importlib.import_module('zmnet_jax.infer'), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
