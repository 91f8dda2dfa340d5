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

"""What a training workdir holds, by name: its config beside the orbax checkpoints."""

from __future__ import annotations

import json
import os

import ml_collections

from zmnet_jax import files

CONFIG_FILE = 'config.json'
CHECKPOINTS = 'checkpoints'


def save_config(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Writes the config as JSON into the workdir (atomically); returns the path."""
  path = os.path.join(workdir, CONFIG_FILE)
  return files.write_json(path, json.loads(config.to_json_best_effort()))


def read_config(path: str) -> ml_collections.ConfigDict:
  """A config saved by `save_config` (raises OSError or ValueError)."""
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))
