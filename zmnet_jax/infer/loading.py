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

"""Finding and reading a trained model: its config and its params, nothing else.

A model is either a training workdir (`config.json` + orbax `checkpoints/`; also its
checkpoints folder or one step's folder) or an exported params file (`.safetensors`, see
`zmnet_jax.params_file`). Either way the params' abstract shape comes from `Model.init`
on a one-element batch: no optimizer, no train state, no training data. orbax is imported
only to read a workdir.
"""

from __future__ import annotations

import dataclasses
import os

import jax
import jax.numpy as jnp
import ml_collections

from zmnet_jax import params_file, workdir
from zmnet_jax.models import fast_encoder, model as model_lib, vgg_weights
from zmnet_jax.words import vocabulary

# Models shipped in the package (zmnet_jax/pretrained/), by name; `default` is used when
# no model is given.
PRETRAINED = {'default': 'fast.safetensors', 'fast': 'fast.safetensors'}
DEFAULT_MODEL = 'default'


class InferenceError(ValueError):
  """A model or input that cannot be used; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class ModelSource:
  """Where a model's config and params are: a workdir's checkpoint or a params file."""

  path: str  # what error messages name
  model_dir: str  # the folder that may hold its signal vocabulary
  config_path: str = ''  # workdir: config.json
  checkpoints: str = ''  # workdir: the checkpoints folder
  step: int | None = None  # workdir: a chosen step (None: the latest)
  params_path: str = ''  # exported: the .safetensors file

  @property
  def is_file(self) -> bool:
    return bool(self.params_path)


def pretrained_path(name: str) -> str:
  """The params file of a model shipped in the package, by name (`PRETRAINED`)."""
  path = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'pretrained', PRETRAINED[name])
  if not os.path.isfile(path):
    raise InferenceError(
      f'{path}: the pretrained model {name!r} is missing from this '
      f'installation; reinstall zmnet_jax or give --model'
    )
  return path


def resolve_model_path(path: str | None = None) -> ModelSource:
  """The ModelSource of a shipped model's name (None: 'default'), a params file, a
  workdir, its checkpoints/ or a step folder."""
  path = DEFAULT_MODEL if path is None else str(path)
  if path in PRETRAINED and not os.path.exists(path):
    path = pretrained_path(path)
  path = os.path.abspath(path.rstrip('/'))
  if not os.path.exists(path):
    raise InferenceError(
      f'{path}: model not found (give a training workdir, a checkpoint '
      f'folder or a {params_file.SUFFIX} params file)'
    )
  if os.path.isfile(path):
    return ModelSource(path, os.path.dirname(path), params_path=path)
  candidates = [
    (path, os.path.join(path, workdir.CHECKPOINTS), None),
    (os.path.dirname(path), path, None),
  ]
  base = os.path.basename(path)
  if base.isdigit():
    candidates.append((os.path.dirname(os.path.dirname(path)), os.path.dirname(path), int(base)))
  for folder, ckpt_dir, step in candidates:
    config_path = os.path.join(folder, workdir.CONFIG_FILE)
    if os.path.isfile(config_path) and os.path.isdir(ckpt_dir):
      return ModelSource(path, folder, config_path, ckpt_dir, step)
  raise InferenceError(
    f'{path}: no {workdir.CONFIG_FILE} with a checkpoints/ folder beside it; is '
    f'this a training workdir?'
  )


@dataclasses.dataclass
class LoadedModel:
  model: model_lib.Model
  params: dict
  vgg_params: dict
  config: ml_collections.ConfigDict
  step: int
  card: dict
  vocabulary: dict | None  # the signal vocabulary of a word model's params file
  fast_encoder: dict | None = None  # the distilled style encoder's params, if it has one

  @property
  def fast_encoder_config(self) -> fast_encoder.FastEncoderConfig | None:
    cfg = self.config.model.get('fast_encoder')
    return None if cfg is None else fast_encoder.FastEncoderConfig.from_config(cfg.to_dict())


def load_params_file(path: str) -> tuple:
  """`params_file.load(path)` (config, params, card, vocabulary), its errors as
  InferenceError."""
  try:
    return params_file.load(path)
  except params_file.ParamsFileError as e:
    raise InferenceError(str(e)) from e


def load_model(source: ModelSource, dtype: str | None = None) -> LoadedModel:
  """Builds the model of `source`'s config and reads its params into it."""
  if source.is_file:
    config_dict, params, card, vocab = load_params_file(source.params_path)
    config = ml_collections.ConfigDict(config_dict)
  else:
    config, card, vocab = read_config(source.config_path), {}, None
  if dtype:
    config.dtype = dtype
  model, vgg_params, abstract = build(config, source.params_path or source.config_path)
  student = None
  if source.is_file:
    params, student = split_fast_encoder(source.params_path, params, config)
    check_file_params(source.params_path, params, abstract)
    step = int(card.get('steps', 0))
  else:
    params, step = read_checkpoint_params(source, abstract)
  return LoadedModel(model, params, vgg_params, config, int(step), card, vocab, student)


def split_fast_encoder(path: str, params: dict, config) -> tuple[dict, dict | None]:
  """(ZMNet params, fast style encoder params or None) of a params file's arrays; the
  encoder's shapes are checked against the `model.fast_encoder` config saved with it."""
  params = dict(params)
  student = params.pop(fast_encoder.PARAMS_KEY, None)
  cfg = config.model.get('fast_encoder')
  if (student is None) != (cfg is None):
    has = 'arrays but no model.fast_encoder config' if cfg is None else 'config but no arrays'
    raise InferenceError(f'{path}: damaged fast style encoder ({has})')
  if student is None:
    return params, None
  try:
    encoder_config = fast_encoder.FastEncoderConfig.from_config(cfg.to_dict())
    module = fast_encoder.FastStyleEncoder(int(config.model.pnet.width), encoder_config)
    side = encoder_config.size
    abstract = jax.eval_shape(module.init, jax.random.key(0), jnp.zeros((1, side, side, 3)))
  except (TypeError, ValueError) as e:
    raise InferenceError(f'{path}: unusable model.fast_encoder config ({e})') from e
  student = {'params': student}
  check_file_params(path, student, abstract, 'its model.fast_encoder config')
  return params, student


def load_vocabulary(source: ModelSource) -> vocabulary.SignalVocabulary | None:
  """The signal vocabulary saved with a word model (in its params file, or its workdir's
  `signal_vocabulary.json`); None for other models."""
  if source.is_file:
    vocab = load_params_file(source.params_path)[3]
    return None if vocab is None else vocabulary.SignalVocabulary.from_dict(vocab)
  return vocabulary.load_vocabulary(source.model_dir)


def read_params(source: ModelSource, abstract_params) -> tuple[dict, int]:
  """(params, step) of `source` read into another model's abstract params (for
  fine-tuning); InferenceError naming the first array that does not fit."""
  if not source.is_file:
    return read_checkpoint_params(source, abstract_params)
  config, params, card, _ = load_params_file(source.params_path)
  # A fast style encoder was distilled for these params as they are, not for a new run.
  params, _ = split_fast_encoder(source.params_path, params, ml_collections.ConfigDict(config))
  check_file_params(source.params_path, params, abstract_params, 'this config')
  return params, int(card.get('steps', 0))


def read_config(path: str) -> ml_collections.ConfigDict:
  try:
    return workdir.read_config(path)
  except (OSError, ValueError) as e:
    raise InferenceError(f'{path}: unreadable config ({e})') from e


def build(config, config_path: str):
  """(Model, VGG params, abstract params) of a config; bad values -> InferenceError."""
  try:
    model, vgg_params = model_lib.build_model(config)
    return model, vgg_params, model.abstract_params(config, vgg_params)
  except vgg_weights.WeightsError:
    raise
  except (ValueError, TypeError, KeyError, AttributeError) as e:
    reason = ' '.join(str(e).split())[:300] or type(e).__name__
    raise InferenceError(f'{config_path}: unusable model config ({reason})') from e


def check_file_params(
  path: str, params, abstract, config_name: str = 'the config stored in it'
) -> None:
  """A params file's arrays must be exactly those the config builds."""
  want = params_file.flatten_shapes(abstract)
  have = params_file.flatten_shapes(params)
  problems = [
    f'{name} is {list(have[name])} but the config needs {list(shape)}'
    if name in have
    else f'no {name}'
    for name, shape in want.items()
    if have.get(name) != shape
  ]
  problems += [f'{name} is not in the model' for name in sorted(set(have) - set(want))]
  if problems:
    more = f', and {len(problems) - 1} more arrays differ' if len(problems) > 1 else ''
    raise InferenceError(f'{path}: params do not match {config_name} ({problems[0]}{more})')


def read_checkpoint_params(source: ModelSource, abstract):
  """(params, step) from a workdir's checkpoint (orbax), or the one-line reason why not."""
  from zmnet_jax import checkpointing  # orbax: lazy

  ckpt = checkpointing.Checkpointer(source.checkpoints, 0, 1_000_000)
  try:
    return ckpt.restore_params(abstract, source.step)
  except (FileNotFoundError, checkpointing.CheckpointUnreadable) as e:
    raise InferenceError(str(e)) from e
  except checkpointing.CheckpointMismatch as e:
    raise InferenceError(
      f'{source.checkpoints}: checkpoint does not match {source.config_path} ({e})'
    ) from e
  finally:
    ckpt.close()
