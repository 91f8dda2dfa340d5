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

"""The package's shape: no import cycle between subpackages, inference stands alone."""

import ast
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, 'zmnet_jax')
# Bottom to top: a subpackage may import those below it, never those above.
LAYERS = (
  'models',
  'data',
  'words',
  'infer',
  'portable',
  'video',
  'app',
  'evaluation',
  'training',
  'cli',
)
HEAVY_FOR_INFERENCE = (
  'optax',
  'orbax',
  'grain',
  'tensorflow_datasets',
  'tensorflow',
  'zmnet_jax.training',
  'zmnet_jax.evaluation',
  'zmnet_jax.cli',
)


def module_name(path: str) -> str:
  relative = os.path.relpath(path, REPO)[: -len('.py')].replace(os.sep, '.')
  return relative[: -len('.__init__')] if relative.endswith('.__init__') else relative


def imports_of(path: str) -> set[str]:
  """zmnet_jax modules (or packages) that a file imports, at any depth."""
  with open(path) as f:
    tree = ast.parse(f.read())
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found |= {a.name for a in node.names if a.name.startswith('zmnet_jax')}
    elif isinstance(node, ast.ImportFrom) and (node.module or '').startswith('zmnet_jax'):
      found |= {f'{node.module}.{a.name}' for a in node.names}
  return found


def unit(module: str) -> str:
  """A module's room: its subpackage ('zmnet_jax.infer') or top-level module
  ('zmnet_jax.files'), whatever is imported from inside it."""
  return '.'.join(module.split('.')[:2])


def unit_graph() -> dict[str, set[str]]:
  graph = {}
  for root, _, names in os.walk(PACKAGE):
    for name in names:
      if name.endswith('.py'):
        path = os.path.join(root, name)
        source = unit(module_name(path))
        targets = {unit(m) for m in imports_of(path)} - {source, 'zmnet_jax'}
        graph.setdefault(source, set()).update(targets)
  return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
  state, stack = {}, []

  def visit(node):
    state[node] = 'open'
    stack.append(node)
    for nxt in sorted(graph.get(node, ())):
      if state.get(nxt) == 'open':
        return stack[stack.index(nxt) :] + [nxt]
      if nxt not in state and (cycle := visit(nxt)):
        return cycle
    state[node] = 'done'
    stack.pop()
    return None

  for node in sorted(graph):
    if node not in state and (cycle := visit(node)):
      return cycle
  return None


def test_no_import_cycle_between_subpackages_and_top_level_modules():
  graph = unit_graph()
  assert 'zmnet_jax.infer' in graph and 'zmnet_jax.training' in graph
  assert find_cycle(graph) is None, ' -> '.join(find_cycle(graph))


def test_find_cycle_finds_one():
  assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
  assert find_cycle({'a': {'b'}, 'b': set()}) is None


@pytest.mark.parametrize('lower', LAYERS)
def test_subpackages_import_only_those_below_them(lower):
  graph = unit_graph()
  above = {f'zmnet_jax.{name}' for name in LAYERS[LAYERS.index(lower) + 1 :]}
  assert not graph[f'zmnet_jax.{lower}'] & above, graph[f'zmnet_jax.{lower}'] & above


def test_the_package_imports_no_test_benchmark_or_experiment_support():
  support = ('tests', 'benchmarks', 'experiments')
  found = []
  for root, _, names in os.walk(PACKAGE):
    for name in (n for n in names if n.endswith('.py')):
      with open(os.path.join(root, name)) as f:
        tree = ast.parse(f.read())
      for node in ast.walk(tree):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.level == 0:
          modules = [node.module or '']
        found += [f'{name}: {m}' for m in modules if m.split('.')[0] in support]
  assert not found, found


def test_importing_inference_loads_no_training_machinery():
  code = (
    'import sys, zmnet_jax.infer, zmnet_jax.app.server; from zmnet_jax import Stylizer; '
    f'heavy = {HEAVY_FOR_INFERENCE!r}; '
    "print(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') "
    'for h in heavy)))'
  )
  result = subprocess.run(
    [sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, check=True
  )
  assert result.stdout.strip() == '[]', result.stdout


def test_configs_resolve_by_short_name_from_any_directory(tmp_path):
  code = (
    'from zmnet_jax import configs; import os; '
    "print(all(os.path.isfile(configs.resolve(n).split(':')[0]) for n in "
    "('tiny', 'default:tiny', 'shared_data', 'attributes:tiny', 'configs/gpu.py', 'tpu')))"
  )
  result = subprocess.run(
    [sys.executable, '-c', code],
    cwd=tmp_path,
    capture_output=True,
    text=True,
    check=True,
    env=dict(os.environ, PYTHONPATH=REPO),
  )
  assert result.stdout.strip() == 'True'
