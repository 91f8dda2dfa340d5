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


"""The ONNX bundle's layout (no onnx import: the CLI checks paths without the extra).

DIR/style_encoder.onnx        style image (or signal vector) -> DIN parameters
DIR/transformer.onnx          content image + DIN parameters -> stylized image
DIR/fast_style_encoder.onnx   models with a distilled encoder: style square -> DIN parameters
DIR/zmnet_onnx.json           the manifest: signal kind, style size, layers, sha256s
DIR/signal_vocabulary.json    word models only: the signal vocabulary
"""

from __future__ import annotations

import os

FORMAT = 'zmnet_jax.onnx/1'
MANIFEST = 'zmnet_onnx.json'
ENCODER_FILE = 'style_encoder.onnx'
TRANSFORMER_FILE = 'transformer.onnx'
FAST_ENCODER_FILE = 'fast_style_encoder.onnx'


def is_bundle(path: str | None) -> bool:
  return path is not None and os.path.isfile(os.path.join(path, MANIFEST))


def missing_manifest(path: str | None) -> str | None:
  """The problem of a folder that holds ONNX graphs but no manifest (a damaged bundle),
  in one line; None for anything else."""
  if path is None or not os.path.isdir(path) or is_bundle(path):
    return None
  graphs = sorted(name for name in os.listdir(path) if name.endswith('.onnx'))
  if not graphs:
    return None
  return (
    f'{path}: an ONNX bundle without its manifest {MANIFEST} (it holds {", ".join(graphs)}); '
    f'export it again with zmnet-export --format onnx'
  )
