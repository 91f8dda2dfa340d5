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

"""The quality protocol: its pairs, its scores on known cases, the paired comparison and
the `evaluate --protocol` / `--outputs` / `--compare` commands."""

import json
import os
import pathlib

import numpy as np
from PIL import Image
import pytest

from zmnet_jax.cli import evaluate
from zmnet_jax.data import embedded as embedded_data, image_arrays, image_files
from zmnet_jax.data.image_files import DataError
from zmnet_jax.evaluation import comparison, metrics, protocol

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'data'
RATIOS = ('style_ratio', 'mean_std_ratio', *protocol.LAYER_SCORES)


@pytest.fixture(scope='module')
def embedded(tmp_path_factory):
  return embedded_data.materialize_embedded_data(tmp_path_factory.mktemp('embedded'))


@pytest.fixture(scope='module')
def scorer():
  return protocol.Scorer()


def write_images(folder: pathlib.Path, names, shape=(40, 56)) -> None:
  folder.mkdir(parents=True)
  rng = np.random.default_rng(len(names))
  for name in names:
    pixels = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / name)


# ----------------------------------------------------------------------------- pairs


def test_each_style_takes_the_next_contents_in_turn(tmp_path):
  write_images(tmp_path / 'c', ['a.png', 'b.png', 'c.png'])
  write_images(tmp_path / 's', ['x.png', 'y.png'])
  folders = protocol.Folders(str(tmp_path / 'c'), str(tmp_path / 's'))
  pairs = protocol.make_pairs(folders, 2)
  assert [(p.content, p.style) for p in pairs] == [
    ('a.png', 'x.png'),
    ('b.png', 'x.png'),
    ('c.png', 'y.png'),
    ('a.png', 'y.png'),
  ]
  assert [p.name for p in pairs][:2] == ['a+x', 'b+x']
  assert protocol.make_pairs(folders, 2, limit=2) == [pairs[0], pairs[2]]
  assert len(protocol.make_pairs(folders, 5)) == 6  # at most every content once per style


@pytest.mark.shared_data
@pytest.mark.skipif(
  not (SHARED_DATA / 'style' / 'val').is_dir(),
  reason='needs the shared image data at ../shared/data (outside the repo)',
)
def test_val512_is_240_pairs_over_every_painting_and_photo():
  chosen = protocol.get_protocol('val512')
  folders = protocol.Folders(str(SHARED_DATA / chosen.content), str(SHARED_DATA / chosen.styles))
  pairs = protocol.make_pairs(folders, chosen.contents_per_style)
  assert len(pairs) == 240 and chosen.size == 512
  assert len({p.style for p in pairs}) == 120 and len({p.content for p in pairs}) == 100
  assert len({p.name for p in pairs}) == 240


def test_an_unknown_protocol_is_named():
  with pytest.raises(ValueError, match="unknown protocol 'val1024'; known: val512"):
    protocol.get_protocol('val1024')


# ----------------------------------------------------------------------------- known cases


def known_pair(embedded, size=128) -> tuple[protocol.Pair, protocol.PairImages]:
  """The cat photo and a colourful microscope slide, as the protocol scores them."""
  folders = protocol.Folders(embedded['content_val'], embedded['style_val'])
  pair = protocol.Pair('chelsea.png', 'immunohistochemistry.png')
  return pair, protocol.ImageCache(folders, size).images(pair)


def test_the_content_as_its_own_output_is_unstylized(embedded, scorer):
  pair, pair_images = known_pair(embedded)
  scores = scorer.score(pair, pair_images, pair_images.content)
  assert [scores[name] for name in RATIOS] == pytest.approx([1.0] * len(RATIOS), abs=1e-3)
  assert scores['lpips'] == pytest.approx(0.0, abs=1e-5)
  assert scores['content_loss'] == pytest.approx(0.0, abs=1e-3)
  assert scores['ssim'] == pytest.approx(1.0, abs=1e-5)
  assert scores['colour_distance'] == pytest.approx(scores['colour_distance_unstylized'])
  assert scores['colour_distance'] > 0.3


def test_the_style_as_output_at_the_same_scale_has_its_statistics(embedded, scorer):
  pair, pair_images = known_pair(embedded)
  scores = scorer.score(pair, pair_images, pair_images.style)
  assert [scores[name] for name in RATIOS] == pytest.approx([0.0] * len(RATIOS), abs=1e-4)
  assert scores['colour_distance'] == pytest.approx(0.0, abs=1e-6)
  assert scores['lpips'] > 0.5 and scores['ssim'] < 0.2


def test_the_style_at_another_scale_is_not_the_style(embedded, scorer):
  """Why the protocol scores at one scale: the style downscaled 2x (then tiled back to
  the size) keeps the style's colours (relu1_1) but is as far from its statistics at the
  higher layers as the unstylized content."""
  pair, pair_images = known_pair(embedded)
  half = image_arrays.square(pair_images.style, 64)
  scores = scorer.score(pair, pair_images, np.tile(half, (2, 2, 1)))
  assert scores['colour_distance'] < 0.15 and scores['gram_ratio/relu1_1'] < 0.05
  assert scores['gram_ratio/relu4_1'] > 0.5 and scores['gram_ratio/relu5_1'] > 0.5
  assert scores['style_ratio'] > 0.25


def test_a_pure_colour_shift_moves_the_lowest_layer_most(embedded, scorer):
  """The content with its mean colour moved to the style's: relu1_1 (colour) far below
  1, the layers that see shapes near 1."""
  pair, pair_images = known_pair(embedded)
  content, style = pair_images.content, pair_images.style
  shifted = np.clip(content - content.mean((0, 1)) + style.mean((0, 1)), 0, 1)
  scores = scorer.score(pair, pair_images, shifted)
  layers = [scores[f'gram_ratio/{layer}'] for layer in metrics.RATIO_LAYERS]
  assert layers[0] < 0.3 and layers[0] == min(layers)
  for value in layers[1:4]:
    assert 0.75 < value < 1.25
  assert scores['colour_distance'] < scores['colour_distance_unstylized']
  assert scores['lpips'] < 0.25


def test_colour_distance_is_hellinger_of_rgb_histograms():
  black, white = np.zeros((4, 4, 3)), np.ones((4, 4, 3))
  half = np.concatenate([black[:2], white[:2]])
  assert metrics.colour_distance(black, black) == 0.0
  assert metrics.colour_distance(black, white) == pytest.approx(1.0)
  assert metrics.colour_distance(black, half) == pytest.approx(np.sqrt(1 - np.sqrt(0.5)))
  assert metrics.colour_histogram(half).sum() == pytest.approx(1.0)
  assert metrics.colour_histogram(half).shape == (512,)


# ----------------------------------------------------------------------------- comparison


def test_paired_bootstrap_intervals():
  rng = np.random.default_rng(0)
  a = rng.normal(size=400)
  same = comparison.paired_bootstrap(a, a)
  assert (same.difference, same.low, same.high, same.real) == (0.0, 0.0, 0.0, False)
  shifted = comparison.paired_bootstrap(a, a - 0.3)
  assert shifted.difference == pytest.approx(-0.3)
  assert shifted.low == pytest.approx(-0.3) and shifted.high == pytest.approx(-0.3)
  noise = rng.normal(0.1, 1.0, size=400)
  iv = comparison.paired_bootstrap(a, a + noise)
  half_width = 1.96 * noise.std() / np.sqrt(400)
  assert iv.low < noise.mean() < iv.high
  assert (iv.high - iv.low) / 2 == pytest.approx(half_width, rel=0.1)
  with pytest.raises(ValueError, match='equal, non-empty'):
    comparison.paired_bootstrap(a, a[:10])


def rows(style_ratio, lpips, strength=1.0):
  scores = {name: 0.5 for name in protocol.SCORE_NAMES}
  return [
    {'content': f'c{i}', 'style': 's', 'strength': strength, **scores, 'style_ratio': r, 'lpips': p}
    for i, (r, p) in enumerate(zip(style_ratio, lpips, strict=True))
  ]


def test_the_ship_rule_needs_a_real_style_gain_at_lpips_within_the_margin():
  rng = np.random.default_rng(1)
  base = rng.uniform(0.3, 0.6, 200)
  lpips = rng.uniform(0.5, 0.6, 200)
  a = rows(base, lpips)
  better = comparison.compare(a, rows(base - 0.05, lpips + 0.005))
  assert comparison.ship_verdict(better)[0]
  washed = comparison.compare(a, rows(base - 0.05, lpips + 0.05))
  assert 'LPIPS may be worse' in comparison.ship_verdict(washed)[1]
  noisy = comparison.compare(a, rows(base + rng.normal(0, 0.1, 200), lpips))
  assert not comparison.ship_verdict(noisy)[0]
  assert 'style ratio not lower' in comparison.ship_verdict(noisy)[1]
  table = comparison.format_report(better, ('old', 'new'))
  assert 'A = old, B = new' in table and 'B passes' in table


def test_compare_pairs_by_content_style_and_strength():
  a = rows([0.5, 0.4, 0.3], [0.5, 0.5, 0.5]) + rows([0.7], [0.3], strength=0.5)
  b = rows([0.4, 0.4], [0.5, 0.5])  # the first two pairs only, strength 1 only
  report = comparison.compare(a, b)
  assert list(report) == ['1.00'] and report['1.00']['num_pairs'] == 2
  assert report['1.00']['scores']['style_ratio'].difference == pytest.approx(-0.05)
  with pytest.raises(DataError, match='share no'):
    comparison.compare(a, rows([0.5], [0.5], strength=0.25))


# ----------------------------------------------------------------------------- commands


@pytest.fixture(scope='module')
def small_folders(embedded, tmp_path_factory):
  """3 photos (one a JPEG) and 2 textures (one in a sub-folder), at odd sizes."""
  root = tmp_path_factory.mktemp('protocol_data')
  for folder in ('contents', 'styles/sub'):
    (root / folder).mkdir(parents=True)
  copies = {
    'contents/p1.png': ('content_val', 'chelsea.png', (72, 48)),
    'contents/p2.png': ('content_val', 'china.png', (60, 80)),
    'contents/p3.jpg': ('content_train', 'coffee.png', (96, 64)),
    'styles/s1.png': ('style_val', 'immunohistochemistry.png', (90, 60)),
    'styles/sub/s2.png': ('style_val', 'gravel.png', (64, 64)),
  }
  for name, (folder, source, size) in copies.items():
    Image.open(os.path.join(embedded[folder], source)).convert('RGB').resize(size).save(root / name)
  return root


def protocol_args(folders, out, *extra):
  return [
    '--protocol',
    'val512',
    '--content',
    str(folders / 'contents'),
    '--styles',
    str(folders / 'styles'),
    '--size',
    '64',
    '--out',
    str(out),
    *extra,
  ]


@pytest.fixture(scope='module')
def model_run(small_folders, tmp_path_factory):
  out = tmp_path_factory.mktemp('protocol_run') / 'fast'
  code = evaluate.main(protocol_args(small_folders, out, '--strength', '1,0.5', '--save-outputs'))
  assert code == 0
  return out


def test_protocol_run_writes_metrics_pairs_sheet_and_outputs(model_run):
  report = json.loads((model_run / 'metrics.json').read_text())
  assert report['protocol']['num_pairs'] == 4 and report['protocol']['size'] == 64
  assert list(report['by_strength']) == ['1.00', '0.50']
  for block in report['by_strength'].values():
    assert block['num_pairs'] == 4
    assert set(block['mean']) == set(protocol.SCORE_NAMES)
  full, half = (report['by_strength'][k]['mean'] for k in ('1.00', '0.50'))
  # Strength moves the output from the content (LPIPS 0) towards the style's palette.
  assert full['lpips'] > half['lpips'] > 0.0
  assert full['colour_distance'] < half['colour_distance'] < full['colour_distance_unstylized']
  rows = protocol.read_pairs_csv(str(model_run / 'pairs.csv'))
  assert len(rows) == 8 and {r['strength'] for r in rows} == {1.0, 0.5}
  assert {(r['content'], r['style']) for r in rows} == {
    ('p1.png', 's1.png'),
    ('p2.png', 's1.png'),
    ('p3.jpg', os.path.join('sub', 's2.png')),
    ('p1.png', os.path.join('sub', 's2.png')),
  }
  outputs = sorted((model_run / 'outputs').rglob('*.png'))
  assert len(outputs) == 8
  assert image_files.load_image(outputs[0]).shape == (64, 64, 3)
  sheet = image_files.load_image(model_run / 'contact_sheet.png')
  assert sheet.shape[1] == 3 * 192 and sheet.shape[0] == 4 * 192


def test_saved_outputs_score_as_the_model_did(model_run, small_folders, tmp_path):
  """Scores are of the 8-bit output: the saved PNGs give the model's numbers again."""
  out = tmp_path / 'saved'
  args = protocol_args(small_folders, out, '--outputs', str(model_run / 'outputs'))
  assert evaluate.main([*args, '--strength', '0.5,1']) == 0
  again = {
    (r['content'], r['style'], r['strength']): r
    for r in protocol.read_pairs_csv(str(out / 'pairs.csv'))
  }
  for row in protocol.read_pairs_csv(str(model_run / 'pairs.csv')):
    twin = again[(row['content'], row['style'], row['strength'])]
    for name in protocol.SCORE_NAMES:
      assert twin[name] == pytest.approx(row[name], rel=1e-4, abs=1e-6), name


def test_style_size_sets_the_encoding_scale(
  model_run, small_folders, tmp_path, capsys, monkeypatch
):
  monkeypatch.setenv('ZMNET_JAX_PROGRESS_SECONDS', '0')
  out = tmp_path / 'style24'
  assert evaluate.main(protocol_args(small_folders, out, '--style-size', '24')) == 0
  # Progress reaches a log too (stderr is not a terminal here): the last line counts all.
  assert 'val512: 4/4 outputs, ' in capsys.readouterr().err
  report = json.loads((out / 'metrics.json').read_text())
  assert report['source']['style_size'] == 24
  default = json.loads((model_run / 'metrics.json').read_text())
  assert default['source']['style_size'] != 24
  other, own = (
    json.loads((d / 'metrics.json').read_text())['by_strength']['1.00']['mean']['style_ratio']
    for d in (out, model_run)
  )
  assert other != pytest.approx(own, rel=1e-4)


def test_compare_command_prints_intervals_and_the_verdict(model_run, capsys):
  assert evaluate.main(['--compare', str(model_run), str(model_run)]) == 0
  printed = capsys.readouterr().out
  assert 'strength 1.00, 4 pairs' in printed and 'strength 0.50, 4 pairs' in printed
  assert 'style_ratio' in printed and '[+0, +0]' in printed
  assert 'B fails: style ratio not lower' in printed


def test_protocol_errors_are_one_line(model_run, small_folders, tmp_path, capsys):
  missing = tmp_path / 'partial'
  (missing / 'strength_1.00').mkdir(parents=True)
  code = evaluate.main(protocol_args(small_folders, tmp_path / 'o1', '--outputs', str(missing)))
  err = capsys.readouterr().err.strip()
  assert code == 1 and '\n' not in err, err
  assert err.startswith(f'error: {missing}/strength_1.00/p1+s1.png: no saved output')
  assert evaluate.main(['--compare', str(model_run), str(tmp_path)]) == 1
  err = capsys.readouterr().err.strip()
  assert err.startswith('error: ') and 'pairs.csv' in err and '\n' not in err
  assert evaluate.main(['--protocol', 'val512']) == 2
  assert 'error: --out is required' in capsys.readouterr().err
  code = evaluate.main(protocol_args(small_folders, tmp_path / 'o2', '--strength', '0,1'))
  assert code == 2 and 'must be a finite number in (0, 1]' in capsys.readouterr().err
  assert evaluate.main(protocol_args(small_folders, model_run)) == 1
  assert 'holds the results of an earlier run' in capsys.readouterr().err


def test_a_protocol_run_becomes_the_card_of_a_params_file(model_run, tmp_path, capsys):
  from zmnet_jax import infer, params_file
  from zmnet_jax.cli import export

  shipped = infer.loading.resolve_model_path('default').params_path
  out = tmp_path / 'carded.safetensors'
  metrics_json = str(model_run / 'metrics.json')
  assert export.main(['--model', shipped, '--validation', metrics_json, '--out', str(out)]) == 0
  _, params, card, _ = params_file.load(out)
  _, shipped_params, shipped_card, _ = params_file.load(shipped)
  assert card['validation']['protocol'] == 'val512' and card['validation']['num_pairs'] == 4
  report = json.loads((model_run / 'metrics.json').read_text())
  assert card['validation']['mean_lpips'] == report['by_strength']['1.00']['mean']['lpips']
  assert card['steps'] == shipped_card['steps'] and card['training'] == shipped_card['training']
  copied, original = params_file.flatten(params), params_file.flatten(shipped_params)
  assert copied.keys() == original.keys()
  assert all(np.array_equal(copied[k], original[k]) for k in copied)
  report['source']['step'] = 7
  wrong = tmp_path / 'wrong.json'
  wrong.write_text(json.dumps(report))
  code = export.main(
    ['--model', shipped, '--validation', str(wrong), '--out', str(tmp_path / 'w.safetensors')]
  )
  assert code == 1
  assert 'it evaluates step 7, not step' in capsys.readouterr().err


def test_export_sets_the_style_size_a_model_encodes_at(tmp_path):
  from zmnet_jax import infer, params_file
  from zmnet_jax.cli import export

  shipped = infer.loading.resolve_model_path('default').params_path
  out = tmp_path / 'styled.safetensors'
  assert export.main(['--model', shipped, '--style-size', '96', '--out', str(out)]) == 0
  config, params, card, _ = params_file.load(out)
  shipped_config, shipped_params, shipped_card, _ = params_file.load(shipped)
  assert config['eval']['style_size'] == 96 != shipped_config['eval']['style_size']
  assert card == shipped_card
  assert infer.Stylizer.load(str(out)).config.eval.style_size == 96
  copied, original = params_file.flatten(params), params_file.flatten(shipped_params)
  assert all(np.array_equal(copied[k], original[k]) for k in original)
