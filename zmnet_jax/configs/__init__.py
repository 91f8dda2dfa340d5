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

"""Experiment configs (`get_config(arg)` files). Give `--config` a short name (`tiny`,
`default:tiny`, `shared_data`) or a path; `resolve` turns the first into the second.
Every config's small CPU variant is `:tiny`; `tiny` alone is `default:tiny`."""

from __future__ import annotations

import importlib.util
import os

NAMES = ('default', 'shared_data', 'attributes', 'gpu', 'tpu', 'release_cpu', 'release_gpu')
ALIASES = {'tiny': 'default:tiny'}


def resolve(spec: str) -> str:
  """'tiny', 'shared_data:tiny', 'configs/default.py' or any path[:arg] -> file[:arg].

  A path that exists is kept; otherwise a short name, or a path whose file name is that
  of a packaged config (e.g. the old `configs/default.py`), names the packaged file.
  """
  spec = str(spec)
  path, sep, arg = spec.partition(':')
  if path in ALIASES:
    if sep:
      raise ValueError(f'{path} is {ALIASES[path]} and takes no variant')
    path, sep, arg = ALIASES[path].partition(':')
  if os.path.isfile(path):
    return path + sep + arg
  stem = os.path.splitext(os.path.basename(path))[0]
  if stem in NAMES and (path == stem or path.endswith('.py')):
    return os.path.join(os.path.dirname(__file__), f'{stem}.py') + sep + arg
  names = ', '.join(sorted(NAMES + tuple(ALIASES)))
  raise ValueError(f'{path}: no such config file, nor a packaged config name ({names})')


def load(spec: str):
  """The ConfigDict of a config name or file[:arg] (what `--config` takes)."""
  path, _, arg = resolve(spec).partition(':')
  module_spec = importlib.util.spec_from_file_location('zmnet_jax_config', path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg or None)
