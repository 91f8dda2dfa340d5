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

"""The paper's claims as experiments (`experiments.reproduce`): the smallest end to end."""

import json
import math
import pathlib

import pytest

from experiments import reproduce, runs

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'data'
needs_data = pytest.mark.skipif(
  not (SHARED_DATA / 'style' / 'train').is_dir(),
  reason='needs the shared image data at ../shared/data (outside the repo)',
)


@needs_data
def test_style_count_claim_runs_end_to_end_and_reuses_its_runs(tmp_path, capsys):
  out = tmp_path / 'reproduce'
  argv = ['styles', '--scale', 'test', '--out', str(out), '--data', str(SHARED_DATA)]
  assert reproduce.main(argv) == 0
  result = json.loads((out / 'claim3_styles.json').read_text())
  assert [r['training_styles'] for r in result['rows']] == [4, 8]
  for row in result['rows']:
    assert row['held_out_loss']['total'] > 0 and row['training_styles_loss']['total'] > 0
    assert math.isclose(
      row['gap'], row['held_out_loss']['total'] - row['training_styles_loss']['total']
    )
    assert 0 < row['style_ratio'] < 10 and 0 < row['lpips'] < 1
  first, last = (r['held_out_loss']['total'] for r in (result['rows'][0], result['rows'][-1]))
  assert result['held_out_loss_ratio_most_to_fewest'] == pytest.approx(last / first)
  assert (out / 'style_count.png').stat().st_size > 10_000
  links = sorted((out / 'styles' / 'train_4').iterdir())
  assert len(links) == 4 and all(p.is_symlink() for p in links)
  trained = (out / 'runs' / 'styles_4' / 'model.safetensors').stat().st_mtime
  assert reproduce.main(argv) == 0  # runs already trained and scored are reused
  assert (out / 'runs' / 'styles_4' / 'model.safetensors').stat().st_mtime == trained
  assert 'styles: done' in capsys.readouterr().out


def test_full_scale_plan_prints_each_claim_s_training_cost(capsys):
  assert reproduce.main(['all', '--scale', 'full', '--plan']) == 0
  lines = capsys.readouterr().out.splitlines()
  full = runs.SCALES['full']
  images = 4 * full.steps * full.batch
  hours = images / full.images_per_second / 3600
  rate = f'{full.images_per_second:,.0f}'
  assert (
    f'styles: 4 training run(s), {images:,} images, at least {hours:.2f} h at {rate} img/s' in lines
  )
  assert 'speed: 0 training run(s), 0 images' in lines


def test_a_missing_data_root_is_one_line(tmp_path):
  with pytest.raises(SystemExit, match=r'^error: .*nowhere: no style/train folder'):
    reproduce.main(
      ['styles', '--scale', 'test', '--out', str(tmp_path), '--data', str(tmp_path / 'nowhere')]
    )
