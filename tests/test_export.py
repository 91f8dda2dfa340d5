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

"""Exported params files: bit-exact round trip, light loading, fine-tuning from them."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from zmnet_jax import infer, params_file
from zmnet_jax.cli import export as cli_export, stylize as cli_stylize
from zmnet_jax.configs import default
from zmnet_jax.data import image_files
from zmnet_jax.training import trainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def leaves_equal(a, b) -> bool:
  la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
  return len(la) == len(lb) and all(
    np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb, strict=True)
  )


@pytest.fixture(scope='module')
def exported(trained_workdir, tmp_path_factory):
  path = str(tmp_path_factory.mktemp('export') / 'model.safetensors')
  assert cli_export.main(['--model', trained_workdir, '--out', path]) == 0
  return path


def test_export_round_trip_is_bit_exact_and_carries_a_card(trained_workdir, exported):
  from_file = infer.Stylizer.load(exported)
  from_workdir = infer.Stylizer.load(trained_workdir)
  assert leaves_equal(from_file.params, from_workdir.params)
  assert from_file.step == from_workdir.step == 40
  card = from_file.card
  assert card['steps'] == 40 and card['images_seen'] == 40 * 4
  assert card['training']['runs'][-1]['end_step'] == 40
  assert card['training']['wall_time_s'] > 0
  assert 0 < card['validation']['mean_lpips'] < 1
  # Training wrote the same params at its end.
  at_end = infer.Stylizer.load(os.path.join(trained_workdir, 'model.safetensors'))
  assert leaves_equal(at_end.params, from_file.params)


def test_export_puts_a_held_out_evaluation_of_the_same_step_in_the_card(
  trained_workdir, tmp_path, capsys
):
  report = {
    'model': {'step': 40},
    'num_contents': 4,
    'num_styles': 24,
    'config': {'size': 256},
    'metrics': {'style_ratio': 0.34, 'lpips': 0.59},
  }
  metrics = tmp_path / 'metrics.json'
  metrics.write_text(json.dumps(report))
  out = str(tmp_path / 'm.safetensors')
  assert (
    cli_export.main(['--model', trained_workdir, '--out', out, '--validation', str(metrics)]) == 0
  )
  validation = infer.Stylizer.load(out).card['validation']
  assert validation['mean_style_ratio'] == 0.34 and validation['num_styles'] == 24
  assert validation['settings'] == {'size': 256} and validation['step'] == 40
  report['model']['step'] = 39
  metrics.write_text(json.dumps(report))
  other = str(tmp_path / 'other.safetensors')
  assert (
    cli_export.main(['--model', trained_workdir, '--out', other, '--validation', str(metrics)]) == 1
  )
  assert 'evaluates step 39, not step 40' in capsys.readouterr().err
  assert not os.path.exists(other)


def test_export_refuses_to_overwrite_and_needs_the_suffix(trained_workdir, exported, capsys):
  assert cli_export.main(['--model', trained_workdir, '--out', exported]) == 1
  assert cli_export.main(['--model', trained_workdir, '--out', exported + '.bin']) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 2 and 'exists' in err[0] and '.safetensors' in err[1]


def test_loading_a_params_file_imports_no_training_machinery(exported):
  code = (
    'import sys; from zmnet_jax import Stylizer; s = Stylizer.load(sys.argv[1]); '
    "print(sorted(m.split('.')[0] for m in sys.modules "
    "if m.split('.')[0] in ('optax', 'orbax', 'grain', 'tensorflow_datasets')))"
  )
  result = subprocess.run(
    [sys.executable, '-c', code, exported], cwd=REPO, text=True, capture_output=True, check=True
  )
  assert result.stdout.strip().splitlines()[-1] == '[]'


def test_bad_params_files_are_one_line_errors(exported, tmp_path):
  data = open(exported, 'rb').read()
  truncated = tmp_path / 'truncated.safetensors'
  truncated.write_bytes(data[: len(data) // 2])
  with pytest.raises(infer.InferenceError, match=f'{truncated}: not a readable'):
    infer.Stylizer.load(str(truncated))
  config, params, card, _ = params_file.load(exported)
  config['model']['tnet']['channels'] = [16, 32, 72]
  wrong = str(tmp_path / 'wrong.safetensors')
  params_file.save(wrong, params, config, card)
  with pytest.raises(
    infer.InferenceError,
    match=r'params do not match the config stored '
    r'in it \(.* is \[128\] but the config needs \[144\], and \d+ more',
  ):
    infer.Stylizer.load(wrong)
  kernel = np.array(params['transformer']['conv1']['conv']['kernel'])
  kernel[0, 0, 0, 0] = np.nan
  params['transformer']['conv1']['conv']['kernel'] = kernel
  nan = str(tmp_path / 'nan.safetensors')
  config['model']['tnet']['channels'] = [16, 32, 64]
  params_file.save(nan, params, config, card)
  with pytest.raises(infer.InferenceError, match='NaN or infinite'):
    infer.Stylizer.load(nan)


def first_loss(workdir) -> float:
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f if '"loss"' in line][0]['loss']


def one_step_config(**overrides):
  config = default.get_config('tiny')
  config.train.update(num_steps=1, log_every=1, checkpoint_every=1, sample_every=0)
  config.eval.at_end = False  # the tests read the first step's loss only
  config.update(overrides)
  return config


@pytest.mark.slow
def test_init_from_starts_from_the_exported_params(trained_workdir, exported, tmp_path):
  runs = {}
  for name, source in (('file', exported), ('workdir', trained_workdir), ('fresh', '')):
    runs[name] = str(tmp_path / name)
    trainer.train_and_evaluate(one_step_config(init_from=source), runs[name])
  # Step 1's loss is that of the starting params on the same first batch.
  assert first_loss(runs['file']) == pytest.approx(first_loss(runs['workdir']), rel=1e-6)
  assert abs(first_loss(runs['file']) - first_loss(runs['fresh'])) > 0.05
  wider = one_step_config(init_from=exported)
  wider.model.tnet.channels = (16, 32, 72)
  with pytest.raises(
    trainer.TrainingError,
    match=r'config.init_from: .* params do not '
    r'match this config \(.* is \[128\] but the config needs \[144\]',
  ):
    trainer.train_and_evaluate(wider, str(tmp_path / 'wider'))


def test_the_shipped_model_loads_by_default_without_training_machinery():
  code = (
    'import sys; from zmnet_jax import Stylizer; s = Stylizer.load(); '
    "f = Stylizer.load('fast'); import jax, numpy as np; "
    'assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(s.params), '
    'jax.tree.leaves(f.params))); '
    "print(s.signal_kind, s.step, s.card['images_seen'], sorted(m.split('.')[0] for m in "
    "sys.modules if m.split('.')[0] in ('optax', 'orbax', 'grain', 'tensorflow_datasets')))"
  )
  result = subprocess.run(
    [sys.executable, '-c', code], cwd=REPO, text=True, capture_output=True, check=True
  )
  kind, step, images, heavy = result.stdout.strip().splitlines()[-1].split(' ', 3)
  assert kind == 'image' and int(step) > 0 and int(images) >= 8 * int(step)
  assert heavy == '[]'


def test_stylize_without_a_model_uses_the_shipped_one(word_folders, tmp_path):
  content = image_files.list_images(word_folders['content_val'])[0]
  style = image_files.list_images(word_folders['style_val'])[0]
  out = tmp_path / 'out.png'
  args = ['--content', content, '--style', style, '--size', '96', '--out', str(out)]
  assert cli_stylize.main(args) == 0
  result = image_files.load_image(out)
  assert min(result.shape[:2]) == 96 and result.std() > 5
