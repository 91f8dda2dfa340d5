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

"""Colour preservation: the stylized luminance with the content's chroma (Gatys 2016)."""

from __future__ import annotations

import numpy as np


def _yiq_matrix() -> np.ndarray:
  return np.array(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float64
  )


def rgb_to_yiq(x):
  return x @ _yiq_matrix().T.astype(np.float32)


def yiq_to_rgb(x):
  """The exact inverse of `rgb_to_yiq` (the rounded textbook matrix is off by ~2e-3)."""
  return x @ np.linalg.inv(_yiq_matrix()).T.astype(np.float32)


def preserve_color(content: np.ndarray, stylized: np.ndarray) -> np.ndarray:
  """Luminance of the stylized image with the chroma (I, Q) of the content (Gatys 2016)."""
  yiq = rgb_to_yiq(np.asarray(stylized, np.float32))
  yiq[..., 1:] = rgb_to_yiq(np.broadcast_to(np.asarray(content, np.float32), stylized.shape))[
    ..., 1:
  ]
  return np.clip(yiq_to_rgb(yiq), 0.0, 1.0)
