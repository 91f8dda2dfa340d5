"""orbax CheckpointManager: train state + data-iterator state + config, resume from latest."""

from __future__ import annotations

import json
import logging
import os

import jax
import ml_collections
import orbax.checkpoint as ocp

log = logging.getLogger(__name__)
CONFIG_FILE = 'config.json'


def save_config(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Writes the config as JSON next to the checkpoints (process 0 only)."""
  path = os.path.join(workdir, CONFIG_FILE)
  if jax.process_index() == 0:
    with open(path + '.tmp', 'w') as f:
      f.write(config.to_json_best_effort(indent=2))
    os.replace(path + '.tmp', path)
  return path


def load_config(path: str) -> ml_collections.ConfigDict:
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


class Checkpointer:
  """Saves every `every` steps (and when asked), keeps the last `keep`."""

  def __init__(self, directory: str, every: int, keep: int):
    self.directory = os.path.abspath(directory)
    self.every = every
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        item_names=('state', 'data'))

  def should_save(self, step: int) -> bool:
    return bool(self.every) and step % self.every == 0

  def save(self, step: int, state, train_input) -> None:
    data_state = train_input.get_state() if train_input is not None else {}
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state)), force=True)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def restore_latest(self, abstract_or_template_state, train_input=None):
    """Restores the latest step into the template's shardings; the template if none."""
    step = self._manager.latest_step()
    if step is None:
      return abstract_or_template_state
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_or_template_state)
    restored = self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(target), data=ocp.args.JsonRestore()))
    if train_input is not None and restored['data']:
      train_input.set_state(restored['data'])
    return restored['state']

  def restore_state(self, abstract_state, step: int | None = None):
    """Only the train state (for inference); latest step unless `step` is given."""
    step = self._manager.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f'{self.directory}: no checkpoint found')
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
    restored = self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(target)))
    return restored['state'], step

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
