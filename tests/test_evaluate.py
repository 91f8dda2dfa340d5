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

"""Evaluation: the `evaluate` command, training's report, sharding over 8 fake devices."""

import csv
import json
import os
import pathlib
import shutil

import ml_collections
import numpy as np
from PIL import Image
import pytest

from zmnet_jax import infer
from zmnet_jax.cli import evaluate
from zmnet_jax.data import embedded as embedded_data, eval_sets, image_arrays
from zmnet_jax.evaluation import held_out as evaluation

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = pathlib.Path(REPO).parent / 'shared' / 'data'
SIZE = 32
STYLE_SIZE = 24  # styles are encoded at this size, scored at SIZE (the contents' scale)


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
  """Embedded contents/styles; 'styles' also holds an undecodable file."""
  root = tmp_path_factory.mktemp('embedded')
  dirs = embedded_data.materialize_embedded_data(root)
  styles = root / 'styles_with_broken'
  shutil.copytree(dirs['style_val'], styles)
  (styles / 'broken.png').write_bytes(b'not a png')
  return {**dirs, 'styles': str(styles)}


@pytest.fixture(scope='module')
def stylizer(trained_workdir):
  return infer.Stylizer.load(trained_workdir)


@pytest.fixture(scope='module')
def cli_run(trained_workdir, folders, tmp_path_factory):
  """One `evaluate` run: 2 held-out styles (+1 broken) and 3 train styles x 2 contents."""
  out = tmp_path_factory.mktemp('eval_out')
  code = evaluate.main(
    [
      '--model',
      trained_workdir,
      '--content',
      folders['content_val'],
      '--styles',
      folders['styles'],
      '--out',
      str(out),
      '--size',
      str(SIZE),
      '--style-size',
      str(STYLE_SIZE),
      '--batch-styles',
      '2',
      '--train-styles',
      folders['style_train'],
      '--limit-train-styles',
      '3',
    ]
  )
  assert code == 0
  return out


def read_csv(path):
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


def test_cli_writes_metrics_csv_and_contact_sheet(cli_run):
  assert {p.name for p in cli_run.iterdir()} == {
    'metrics.json',
    'per_style.csv',
    'per_style_train.csv',
    'contact_sheet.png',
  }
  rows = read_csv(cli_run / 'per_style.csv')
  assert [r['style'] for r in rows] == ['gravel.png', 'immunohistochemistry.png']
  assert list(rows[0]) == ['style', *evaluation.SCORE_NAMES]
  assert all(np.isfinite(float(r[k])) for r in rows for k in evaluation.SCORE_NAMES)
  assert len(read_csv(cli_run / 'per_style_train.csv')) == 3
  with Image.open(cli_run / 'contact_sheet.png') as sheet:
    assert sheet.size == (3 * (SIZE + 2), 3 * (SIZE + 2))  # header row/column + 2 x 2


def test_cli_metrics_json(cli_run):
  report = json.loads((cli_run / 'metrics.json').read_text())
  assert report['num_styles'] == 2 and report['num_contents'] == 2
  assert report['num_pairs'] == 4
  assert report['skipped_styles'] == [os.path.join(report['config']['styles'], 'broken.png')]
  assert report['config']['size'] == SIZE and report['config']['batch_styles'] == 2
  for block in (
    report['metrics'],
    report['metrics_std_over_styles'],
    report['train_styles']['metrics'],
  ):
    assert set(block) == set(evaluation.SCORE_NAMES)
    assert all(np.isfinite(v) for v in block.values())
  assert -1 <= report['metrics']['ssim'] <= 1 and report['metrics']['lpips'] > 0  # 40 steps: near 0
  rows = read_csv(cli_run / 'per_style.csv')
  for k in evaluation.SCORE_NAMES:
    assert report['metrics'][k] == pytest.approx(np.mean([float(r[k]) for r in rows]), rel=1e-4)
  throughput = report['throughput']
  assert throughput['pairs_per_s'] > 0 and throughput['compile_s'] >= 0
  assert throughput['ms_per_image'] == pytest.approx(1000 / throughput['pairs_per_s'])
  assert throughput['image_size'] == [SIZE, SIZE] and throughput['num_devices'] == 1
  assert throughput['style_size'] == [STYLE_SIZE, STYLE_SIZE]
  assert report['train_styles']['num_styles'] == 3


def test_cli_generalization_gap(cli_run):
  report = json.loads((cli_run / 'metrics.json').read_text())
  held, seen = report['metrics'], report['train_styles']['metrics']
  kind = report['model']['style_kind']
  gap = report['generalization_gap']
  assert gap['style_loss'] == pytest.approx(held[f'style_loss_{kind}'] - seen[f'style_loss_{kind}'])
  assert gap['lpips'] == pytest.approx(held['lpips'] - seen['lpips'])
  assert np.isfinite(gap['style_loss']) and np.isfinite(gap['lpips'])


def test_cli_and_training_evaluation_agree(cli_run, stylizer, folders):
  """The same scores whether the command or training's evaluation computes them: styles
  loaded at the contents' size, encoded at the style size."""
  names, contents = eval_sets.load_eval_images(folders['content_val'], SIZE)
  style_names, styles = eval_sets.load_eval_images(folders['style_val'], SIZE)
  held_out = evaluation.HeldOutSet(names, contents, style_names, styles, STYLE_SIZE)
  result = evaluation.evaluate_held_out(
    stylizer.model, stylizer.params, stylizer.vgg_params, held_out, batch_styles=2
  )
  for row, i in zip(read_csv(cli_run / 'per_style.csv'), range(len(style_names)), strict=True):
    assert row['style'] == style_names[i]
    for k in evaluation.SCORE_NAMES:
      assert float(row[k]) == pytest.approx(result.scores[k][i].mean(), rel=1e-4, abs=1e-6)


def test_evaluate_and_report_writes_the_training_report(stylizer, folders, tmp_path):
  names, contents = eval_sets.load_eval_images(folders['content_val'], SIZE)
  style_names, styles = eval_sets.load_eval_images(folders['style_train'], SIZE, limit=3)
  held_out = evaluation.HeldOutSet(names, contents, style_names, styles)
  config = ml_collections.ConfigDict(stylizer.config.eval.to_dict())
  config.batch_styles = 2
  prefix = str(tmp_path / 'eval')
  report = evaluation.evaluate_and_report(
    stylizer.model, stylizer.params, stylizer.vgg_params, held_out, prefix, config, step=7
  )
  saved = json.loads(open(prefix + '.json').read())
  assert saved['step'] == 7 and saved['num_styles'] == 3 and len(saved['pairs']) == 6
  for k in evaluation.SCORE_NAMES:
    assert np.isfinite(saved[f'mean_{k}']) and set(saved['per_style']['brick.png']) == set(
      evaluation.SCORE_NAMES
    )
  assert saved['throughput']['signals_per_chunk'] == 2
  assert saved['throughput']['timed_pairs'] == 2  # chunk 2 of 2: one real style x 2
  assert report['mean_lpips'] == saved['mean_lpips']
  with Image.open(prefix + '.png') as grid:
    assert grid.size == (4 * (SIZE + 2), 3 * (SIZE + 2))
  evaluation.save_sample_grid(
    stylizer.model,
    stylizer.params,
    stylizer.vgg_params,
    held_out,
    str(tmp_path / 'samples' / 'grid.png'),
  )
  assert (tmp_path / 'samples' / 'grid.png').is_file()


@pytest.mark.parametrize('problem', ['missing_dir', 'empty_dir', 'bad_model', 'not_a_workdir'])
def test_cli_errors_are_one_line(problem, folders, trained_workdir, tmp_path, capsys):
  (tmp_path / 'empty').mkdir()
  args = {
    '--model': trained_workdir,
    '--content': folders['content_val'],
    '--styles': folders['style_val'],
    '--out': str(tmp_path / 'out'),
  }
  expected = {
    'missing_dir': 'folder not found',
    'empty_dir': 'no image files',
    'bad_model': 'model not found',
    'not_a_workdir': 'no config.json',
  }[problem]
  if problem == 'missing_dir':
    args['--styles'] = str(tmp_path / 'nope')
  elif problem == 'empty_dir':
    args['--content'] = str(tmp_path / 'empty')
  elif problem == 'bad_model':
    args['--model'] = str(tmp_path / 'no_model')
  else:
    args['--model'] = folders['style_val']
  code = evaluate.main([x for kv in args.items() for x in kv])
  err = capsys.readouterr().err.strip()
  assert code == 1
  assert len(err.splitlines()) == 1 and err.startswith('error: ') and expected in err
  assert 'Traceback' not in err


def test_style_selection_chunks_and_throughput():
  paths = [f'{i:02d}' for i in range(10)]
  assert eval_sets.select_evenly(paths, 4) == ['00', '02', '05', '07']
  assert eval_sets.select_evenly(paths, None) == paths
  assert eval_sets.select_evenly(paths, 50) == paths
  assert evaluation.chunk_size(4, 120, 1) == 4
  assert evaluation.chunk_size(4, 2, 1) == 2
  assert evaluation.chunk_size(4, 120, 8) == 8
  assert evaluation.chunk_size(12, 120, 8) == 16
  padded = image_arrays.pad_with_last(np.arange(3)[:, None], 5)
  assert padded[:, 0].tolist() == [0, 1, 2, 2, 2]
  timer = evaluation.Throughput()
  for seconds in (5.0, 1.0, 1.0):
    timer.add(seconds, 10)
  report = timer.report()
  assert report['pairs_per_s'] == pytest.approx(10.0)
  assert report['ms_per_image'] == pytest.approx(100.0)
  assert report['compile_s'] == pytest.approx(4.0)


@pytest.mark.shared_data
@pytest.mark.skipif(
  not (SHARED_DATA / 'style' / 'val').is_dir(),
  reason='needs the shared image data at ../shared/data (outside the repo)',
)
def test_cli_on_shared_data(trained_workdir, tmp_path):
  out = tmp_path / 'out'
  code = evaluate.main(
    [
      '--model',
      trained_workdir,
      '--content',
      str(SHARED_DATA / 'content' / 'val'),
      '--styles',
      str(SHARED_DATA / 'style' / 'val'),
      '--out',
      str(out),
      '--limit-contents',
      '2',
      '--limit-styles',
      '3',
      '--size',
      '64',
      '--style-size',
      '64',
      '--train-styles',
      str(SHARED_DATA / 'style' / 'train' / 'wikiart'),
    ]
  )
  assert code == 0
  report = json.loads((out / 'metrics.json').read_text())
  assert report['num_styles'] == 3 and report['train_styles']['num_styles'] == 3
  assert len(read_csv(out / 'per_style.csv')) == 3
  train_rows = read_csv(out / 'per_style_train.csv')
  assert len({r['style'].split('/')[0] for r in train_rows}) == 3  # spread over movements
  assert np.isfinite(report['generalization_gap']['style_loss'])
