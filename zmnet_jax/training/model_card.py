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

"""A workdir's trained model as one params file, with its model card.

The card says how the model was made and how it scores: the training command and config,
steps, images seen, wall time and hardware of every run that trained it (`runs.jsonl`),
the data folders, and the last held-out evaluation (`eval.json`).
"""

from __future__ import annotations

import json
import os
import sys
import time

import jax

from zmnet_jax import params_file, workdir as workdir_lib
from zmnet_jax.infer import loading
from zmnet_jax.words import vocabulary

RUNS_FILE = 'runs.jsonl'
EXPORT_FILE = 'model.safetensors'
EVAL_KEYS = (
  'mean_content_loss',
  'mean_style_loss_gram',
  'mean_style_loss_mean_std',
  'mean_lpips',
  'mean_ssim',
  'mean_style_ratio',
)


def record_run(
  workdir: str, start_step: int, end_step: int, seconds: float, batch_size: int, stopped_early: bool
) -> None:
  """Appends one line for a training run (process 0): steps, time, hardware, command."""
  device = jax.devices()[0]
  line = {
    'started': time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(time.time() - seconds)),
    'start_step': int(start_step),
    'end_step': int(end_step),
    'images': int((end_step - start_step) * batch_size),
    'seconds': float(seconds),
    'platform': device.platform,
    'device_kind': device.device_kind,
    'num_devices': jax.device_count(),
    'num_processes': jax.process_count(),
    'stopped_early': bool(stopped_early),
    'command': ' '.join(sys.argv),
  }
  with open(os.path.join(workdir, RUNS_FILE), 'a') as f:
    f.write(json.dumps(line) + '\n')


def read_jsonl(path: str) -> list[dict]:
  if not os.path.isfile(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def seconds_from_metrics(workdir: str, batch_size: int) -> float:
  """Training time estimated from `metrics.jsonl` (images/s of each logged interval), for
  workdirs trained before runs were recorded."""
  lines = [m for m in read_jsonl(os.path.join(workdir, 'metrics.jsonl')) if m.get('images_per_s')]
  seconds, previous = 0.0, 0
  for line in lines:
    seconds += max(line['step'] - previous, 0) * batch_size / line['images_per_s']
    previous = line['step']
  return seconds


def model_card(workdir: str, config, step: int, evaluation: dict | None = None) -> dict:
  """What is known of how the model in `workdir` was trained and how it scores: the
  held-out `evaluation` given (a `zmnet_jax.evaluate` metrics.json of this step), else
  the workdir's `eval.json` when it is of this step."""
  runs = read_jsonl(os.path.join(workdir, RUNS_FILE))
  batch = int(config.train.batch_size)
  card = {
    'steps': int(step),
    'images_seen': int(step) * batch,
    'training': {
      'runs': runs,
      'wall_time_s': (
        sum(r['seconds'] for r in runs) if runs else seconds_from_metrics(workdir, batch)
      ),
      'hardware': sorted({f'{r["num_devices"]} x {r["device_kind"]}' for r in runs}),
      'command': runs[-1]['command'] if runs else '',
    },
    'data': {
      k: config.data.get(k, '')
      for k in ('source', 'content_dir', 'style_dir', 'content_val_dir', 'style_val_dir')
    },
  }
  if evaluation is not None:
    card['validation'] = validation_from_report(evaluation, step)
    return card
  eval_path = os.path.join(workdir, 'eval.json')
  if os.path.isfile(eval_path):
    with open(eval_path) as f:
      report = json.load(f)
    if report.get('step') == step:
      card['validation'] = {
        'step': report.get('step'),
        'num_contents': report.get('num_contents'),
        'num_styles': report.get('num_styles'),
        **{k: report[k] for k in EVAL_KEYS if k in report},
      }
  return card


def validation_from_report(report: dict, step: int) -> dict:
  """The card's `validation` from an `evaluate` metrics.json, of the grid or of the
  protocol (ValueError unless it is an evaluation of this step)."""
  if isinstance(report, dict) and 'protocol' in report:
    return validation_from_protocol(report, step)
  try:
    evaluated = report['model']['step']
    metrics = report['metrics']
  except (KeyError, TypeError) as e:
    raise ValueError(f'not a zmnet_jax.evaluate metrics.json (no {e})') from e
  if evaluated != step:
    raise ValueError(f'it evaluates step {evaluated}, not step {step}')
  return {
    'step': step,
    'num_contents': report.get('num_contents'),
    'num_styles': report.get('num_styles'),
    'settings': report.get('config', {}),
    **{f'mean_{k}': v for k, v in metrics.items()},
  }


def validation_from_protocol(report: dict, step: int) -> dict:
  """The card's `validation` from `evaluate --protocol`'s metrics.json: the protocol and
  the strength-1 means (and median style ratio)."""
  try:
    evaluated = report['source']['step']
    block = report['by_strength']['1.00']
    settings = report['protocol']
  except (KeyError, TypeError) as e:
    raise ValueError(
      f'not a zmnet_jax.evaluate --protocol metrics.json at strength 1 (no {e})'
    ) from e
  if evaluated != step:
    raise ValueError(f'it evaluates step {evaluated}, not step {step}')
  return {
    'protocol': settings['name'],
    'step': step,
    'num_pairs': block['num_pairs'],
    'size': settings['size'],
    **{f'mean_{k}': v for k, v in block['mean'].items()},
    'median_style_ratio': block['median']['style_ratio'],
  }


def recard(path: str, out: str, evaluation: dict | None, style_size: int | None = None) -> str:
  """A copy of the params file `path` whose card's validation is `evaluation` (a metrics.json
  of the model's step) and whose styles are encoded at `style_size` by default; returns
  `out`."""
  config, params, card, vocab = params_file.load(path)
  if evaluation is not None:
    try:
      card['validation'] = validation_from_report(evaluation, card.get('steps'))
    except ValueError as e:
      raise loading.InferenceError(f'--validation: {e}') from e
  if style_size:
    config['eval']['style_size'] = style_size
  return params_file.save(out, params, config, card, vocab)


def export_params(
  workdir: str,
  config,
  params,
  step: int,
  vocab=None,
  path: str | None = None,
  evaluation: dict | None = None,
) -> str:
  """Writes params straight from training (default `WORKDIR/model.safetensors`)."""
  path = path or os.path.join(workdir, EXPORT_FILE)
  card = model_card(workdir, config, step, evaluation)
  vocab_dict = vocab.to_dict() if vocab is not None else None
  config_dict = json.loads(config.to_json_best_effort())
  return params_file.save(path, jax.device_get(params), config_dict, card, vocab_dict)


def export_workdir(
  model_path: str, out: str, evaluation: dict | None = None, style_size: int | None = None
) -> str:
  """Writes the params of a workdir's checkpoint (latest, or the step folder given) as a
  params file with its config, model card (with `evaluation`, an `evaluate` metrics.json
  of that step, as its validation) and vocabulary; returns the path. `style_size` sets
  the side styles are encoded at by default (`eval.style_size`). A params file is copied
  with these changes."""
  source = loading.resolve_model_path(model_path)
  if source.is_file and (evaluation is not None or style_size):
    return recard(source.params_path, out, evaluation, style_size)
  if source.is_file:
    raise loading.InferenceError(
      f"{model_path}: already a params file (--validation replaces its card's scores, "
      '--style-size its style size)'
    )
  loaded = loading.load_model(source)
  vocab = vocabulary.load_vocabulary(source.model_dir)
  config = workdir_lib.read_config(source.config_path)
  if style_size:
    config.eval.style_size = style_size
  if evaluation is not None:
    try:
      validation_from_report(evaluation, loaded.step)
    except ValueError as e:
      raise loading.InferenceError(f'--validation: {e}') from e
  return export_params(source.model_dir, config, loaded.params, loaded.step, vocab, out, evaluation)
