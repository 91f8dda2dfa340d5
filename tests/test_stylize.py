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

"""The stylize command: contents x styles folders, skipping, mixing, vectors, one-line errors."""

import json
import math
import os
import re
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from zmnet_jax import infer
from zmnet_jax.cli import stylize
from zmnet_jax.data import image_arrays, image_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTENT_SHAPES = [(48, 64), (48, 64), (48, 64), (64, 48), (64, 48)]


def crop(image, height, width):
  """The top-left height x width of the image resized to cover that size."""
  scale = max(height / image.shape[0], width / image.shape[1])
  image = image_arrays.resize_short_side(image, math.ceil(min(image.shape[:2]) * scale))
  return image[:height, :width]


@pytest.fixture(scope='module')
def inputs(word_folders, tmp_path_factory):
  """5 contents (two sizes) and 4 styles (64 px) written from the embedded images."""
  root = tmp_path_factory.mktemp('stylize_inputs')
  contents = image_files.list_images(word_folders['content_train'])[:5]
  for path, (h, w) in zip(contents, CONTENT_SHAPES, strict=True):
    image_files.save_image(
      root / 'contents' / os.path.basename(path), crop(image_files.load_image(path), h, w)
    )
  for path in image_files.list_images(word_folders['style_train'])[:4]:
    image_files.save_image(
      root / 'styles' / os.path.basename(path), crop(image_files.load_image(path), 64, 64)
    )
  return root


@pytest.fixture(scope='module')
def stylizer(trained_workdir):
  return infer.Stylizer.load(trained_workdir)


def run(capsys, *argv):
  code = stylize.main([str(a) for a in argv])
  captured = capsys.readouterr()
  return code, captured.out, captured.err


def stems(folder):
  return sorted(os.path.splitext(p.name)[0] for p in folder.iterdir())


def test_contents_x_styles_folders_write_every_pair_then_skip(
  capsys, trained_workdir, inputs, tmp_path, monkeypatch
):
  out = tmp_path / 'out'
  args = [
    '--model',
    trained_workdir,
    '--content',
    inputs / 'contents',
    '--style',
    inputs / 'styles',
    '--out',
    out,
    '--size',
    32,
    '--batch',
    4,
  ]
  monkeypatch.setenv('ZMNET_JAX_PROGRESS_SECONDS', '0')  # a progress line each step
  code, stdout, err = run(capsys, *args)
  assert code == 0, err
  assert 'encode: 4/4 styles' in err and 'stylize: 20/20 images' in err  # both show progress
  contents, styles = stems(inputs / 'contents'), stems(inputs / 'styles')
  assert stems(out) == sorted(f'{c}__{s}' for c in contents for s in styles)
  for c, (h, w) in zip(contents, CONTENT_SHAPES, strict=True):
    for s in styles:
      image = image_files.load_image(out / f'{c}__{s}.png')
      assert image.shape == image_arrays.scaled_shape(h, w, 32) + (3,)
  # The time of each part: encoding 4 styles can outweigh stylizing 20 images.
  assert re.fullmatch(
    r'written 20, skipped 0 in [\d.]+ s \(the model and 4 signal\(s\) [\d.]+ s, '
    rf'stylizing \d+ ms/image\) -> {out}\n',
    stdout,
  ), stdout
  before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
  code, stdout, err = run(capsys, *args)
  assert code == 0
  assert stdout.startswith('written 0, skipped 20 (they exist; --overwrite replaces them) in ')
  assert 'skipping 20 existing' in err and '--overwrite' in err
  assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_a_folder_notes_the_links_and_videos_it_leaves_out(
  capsys, trained_workdir, inputs, tmp_path
):
  styles = tmp_path / 'styles'
  styles.mkdir()
  style = sorted((inputs / 'styles').iterdir())[0]
  (styles / style.name).write_bytes(style.read_bytes())
  os.symlink('loop.png', styles / 'loop.png')
  (styles / 'clip.mp4').write_bytes(b'')
  (styles / 'notes.txt').write_text('passes in silence')
  content = sorted((inputs / 'contents').iterdir())[0]
  argv = ['--model', trained_workdir, '--content', content, '--style', styles]
  code, stdout, err = run(capsys, *argv, '--out', tmp_path / 'out.png', '--size', 32)
  assert code == 0 and stdout.startswith('written 1, skipped 0 '), err
  assert err.strip() == (
    f'note: {styles}: left out 2: clip.mp4 (a video: give it alone as --content), '
    'loop.png (a link loop)'
  )


def test_mix_writes_one_output_per_content(capsys, trained_workdir, inputs, tmp_path):
  code, stdout, err = run(
    capsys,
    '--model',
    trained_workdir,
    '--content',
    inputs / 'contents',
    '--style',
    inputs / 'styles',
    '--out',
    tmp_path,
    '--size',
    32,
    '--mix',
    '1,1,0,2',
  )
  assert code == 0, err
  assert stems(tmp_path) == [f'{c}__mix' for c in stems(inputs / 'contents')]
  assert stdout.startswith('written 5, skipped 0 ')


def test_one_content_and_style_go_to_the_named_file(
  capsys, trained_workdir, stylizer, inputs, tmp_path
):
  content = image_files.list_images(inputs / 'contents')[0]
  style = image_files.list_images(inputs / 'styles')[0]
  target = tmp_path / 'deep' / 'result.png'
  code, _, err = run(
    capsys, '--model', trained_workdir, '--content', content, '--style', style, '--out', target
  )
  assert code == 0, err
  assert os.listdir(tmp_path / 'deep') == ['result.png']
  expected = stylizer.stylize(
    image_files.load_image(content)[None].astype(np.float32) / 255,
    stylizer.encode_images([image_files.load_image(style).astype(np.float32) / 255]),
  )[0, 0]
  written = image_files.load_image(target).astype(int)
  assert np.abs(written - image_files.to_uint8(expected)).max() <= 1
  # strength and colour preservation run through the same path
  code, _, err = run(
    capsys,
    '--model',
    trained_workdir,
    '--content',
    content,
    '--style',
    style,
    '--out',
    tmp_path / 'soft.png',
    '--strength',
    0.5,
    '--preserve-color',
  )
  assert code == 0, err
  soft = image_files.load_image(tmp_path / 'soft.png').astype(int)
  assert soft.shape == written.shape and np.abs(soft - written).mean() > 1


def test_exact_stats_tiles_write_the_untiled_image(capsys, trained_workdir, inputs, tmp_path):
  content = image_files.list_images(inputs / 'contents')[0]
  style = image_files.list_images(inputs / 'styles')[0]
  common = ['--model', trained_workdir, '--content', content, '--style', style, '--size', 160]
  tiled = ['--tile-size', 144, '--stats-max-side', 64]
  outputs = {}
  for name, extra in [('whole', []), ('approx', tiled), ('exact', tiled + ['--exact-stats'])]:
    code, _, err = run(capsys, *common, *extra, '--out', tmp_path / f'{name}.png')
    assert code == 0, err
    outputs[name] = image_files.load_image(tmp_path / f'{name}.png').astype(int)
  assert outputs['whole'].shape == (160, 213, 3)
  assert np.abs(outputs['exact'] - outputs['whole']).max() <= 1
  assert np.abs(outputs['approx'] - outputs['whole']).mean() > 1


def test_unusual_image_modes_are_converted(capsys, trained_workdir, inputs, tmp_path):
  rgb = image_files.load_image(image_files.list_images(inputs / 'contents')[0])  # 48 x 64
  folder = tmp_path / 'modes'
  folder.mkdir()
  Image.fromarray(rgb).convert('L').save(folder / 'gray.png')
  Image.fromarray(rgb).convert('RGBA').save(folder / 'alpha.png')
  Image.fromarray(rgb).convert('CMYK').save(folder / 'cmyk.tif')
  Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(folder / 'sixteen.png')
  exif = Image.Exif()
  exif[0x0112] = 6  # rotate 90 degrees clockwise to display
  Image.fromarray(rgb).save(folder / 'rotated.jpg', exif=exif)
  style = image_files.list_images(inputs / 'styles')[0]
  code, _, err = run(
    capsys,
    '--model',
    trained_workdir,
    '--content',
    folder,
    '--style',
    style,
    '--out',
    tmp_path / 'out',
  )
  assert code == 0, err
  for name in ('gray', 'alpha', 'cmyk', 'sixteen'):
    assert image_files.load_image(tmp_path / 'out' / f'{name}__brick.png').shape == (48, 64, 3)
  assert image_files.load_image(tmp_path / 'out' / 'rotated__brick.png').shape == (64, 48, 3)


def test_signal_vectors_drive_a_vector_model(capsys, trained_word_workdir, inputs, tmp_path):
  dim = json.load(open(os.path.join(trained_word_workdir, 'config.json')))['model']['pnet'][
    'signal_dim'
  ]
  np.save(tmp_path / 'words.npy', np.stack([np.zeros(dim), np.ones(dim)]).astype(np.float32))
  content = image_files.list_images(inputs / 'contents')[0]
  code, _, err = run(
    capsys,
    '--model',
    trained_word_workdir,
    '--content',
    content,
    '--signal',
    tmp_path / 'words.npy',
    '--out',
    tmp_path / 'out',
  )
  assert code == 0, err
  stem = stems(inputs / 'contents')[0]
  assert stems(tmp_path / 'out') == [f'{stem}__words_0', f'{stem}__words_1']


def test_text_expressions_drive_a_word_model(capsys, trained_word_workdir, inputs, tmp_path):
  content = image_files.list_images(inputs / 'contents')[0]
  code, _, err = run(
    capsys,
    '--model',
    trained_word_workdir,
    '--content',
    content,
    '--text',
    'morning',
    '0.5 morning + 0.5 night',
    '--out',
    tmp_path / 'out',
  )
  assert code == 0, err
  stem = stems(inputs / 'contents')[0]
  assert stems(tmp_path / 'out') == [f'{stem}__0.5_morning_+_0.5_night', f'{stem}__morning']
  morning = image_files.load_image(tmp_path / 'out' / f'{stem}__morning.png')
  mixed = image_files.load_image(tmp_path / 'out' / f'{stem}__0.5_morning_+_0.5_night.png')
  assert np.abs(morning.astype(int) - mixed).max() > 0


@pytest.mark.parametrize('texts,message', [(['0.5 morning +'], 'morning'), ([' '], 'empty')])
def test_bad_text_is_one_line(capsys, trained_word_workdir, inputs, tmp_path, texts, message):
  content = image_files.list_images(inputs / 'contents')[0]
  code, _, err = run(
    capsys,
    '--model',
    trained_word_workdir,
    '--content',
    content,
    '--text',
    *texts,
    '--out',
    tmp_path / 'out',
  )
  assert code == 1 and len(err.strip().splitlines()) == 1 and message in err.lower()
  assert 'Traceback' not in err and not (tmp_path / 'out').exists()


def test_text_needs_a_word_model(capsys, trained_workdir, inputs, tmp_path):
  content = image_files.list_images(inputs / 'contents')[0]
  code, _, err = run(
    capsys,
    '--model',
    trained_workdir,
    '--content',
    content,
    '--text',
    'night',
    '--out',
    tmp_path / 'out',
  )
  assert code == 1 and 'signal_vocabulary.json' in err and len(err.strip().splitlines()) == 1


@pytest.fixture(scope='module')
def bad_inputs(trained_workdir, tmp_path_factory):
  """Broken files, a read-only-by-construction output path and a mismatched model."""
  root = tmp_path_factory.mktemp('bad_inputs')
  (root / 'text.png').write_text('not an image')
  photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80, 3), np.uint8))
  photo.save(root / 'full.png')
  (root / 'truncated.png').write_bytes((root / 'full.png').read_bytes()[:3000])
  Image.fromarray(np.ones((16, 16), np.float32)).save(root / 'float.tif')
  Image.new('RGB', (1200, 1000)).save(root / 'large.png')
  (root / 'a_file').write_text('')
  np.save(root / 'vector.npy', np.ones(8, np.float32))
  mismatch = root / 'mismatch'
  shutil.copytree(trained_workdir, mismatch, ignore=shutil.ignore_patterns('tensorboard'))
  config = json.load(open(mismatch / 'config.json'))
  config['model']['tnet']['channels'][-1] += 8
  json.dump(config, open(mismatch / 'config.json', 'w'))
  damaged = root / 'damaged'
  shutil.copytree(trained_workdir, damaged, ignore=shutil.ignore_patterns('tensorboard'))
  chunks = [p for p in damaged.glob('checkpoints/*/state/**/d/*') if p.is_file()]
  assert chunks
  for chunk in chunks:
    chunk.write_bytes(b'\0' * 100)
  return root


# (case, extra argv, what stderr must contain); {b}: bad_inputs, {c}: contents, {s}: styles,
# {m}: the trained model, {w}: the word model, {o}: a fresh output folder.
ERROR_CASES = [
  ('missing content', ['--content', '{b}/none.png'], ['{b}/none.png', 'not found']),
  ('not an image', ['--content', '{b}/text.png'], ['{b}/text.png', 'not a recognized image']),
  ('truncated', ['--content', '{b}/truncated.png'], ['{b}/truncated.png', 'truncated']),
  ('unsupported mode', ['--content', '{b}/float.tif'], ['{b}/float.tif', 'unsupported']),
  (
    'too many pixels',
    ['--content', '{b}/large.png', '--max-pixels', '1e6'],
    ['{b}/large.png', 'too many pixels'],
  ),
  (
    'resized past the limit',
    ['--size', '2000', '--max-pixels', '1e6'],
    ['--size 2000', 'max-pixels'],
  ),
  ('missing style', ['--style', '{b}/none.png'], ['{b}/none.png', 'not found']),
  ('output under a file', ['--out', '{b}/a_file/out'], ['{b}/a_file', 'is a file']),
  ('one file, many outputs', ['--out', '{o}/one.png'], ['{o}/one.png', '20 outputs']),
  ('missing model', ['--model', '{b}/no_model'], ['{b}/no_model', 'model not found']),
  (
    'checkpoint/config mismatch',
    ['--model', '{b}/mismatch'],
    ['{b}/mismatch', 'does not match', 'config.json', 'in the config, and'],
  ),
  (
    'vectors for an image model',
    ['--signal', '{b}/vector.npy'],
    ['{b}/vector.npy', 'style images', 'not signal vectors'],
  ),
  ('styles for a vector model', ['--model', '{w}'], ['{s}', 'signal vectors', 'not style']),
  ('mix not numbers', ['--mix', '1,x'], ['--mix', 'numbers']),
  ('mix negative', ['--mix', '1,-1,1,1'], ['--mix', 'not be negative']),
  ('mix count', ['--mix', '1,1'], ['--mix', '2 weights for 4 signals']),
  ('strength too large', ['--strength', '1.5'], ['--strength', '[0, 1]']),
  ('strength not a number', ['--strength', 'nan'], ['--strength', '[0, 1]']),
  ('size not a number', ['--size', 'big'], ['--size', 'integer']),
  ('no signal', ['--style'], ['--style', 'expected at least one']),
]


@pytest.mark.parametrize('case, extra, expected', ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_bad_input_is_one_line_on_stderr(
  capsys, trained_workdir, trained_word_workdir, inputs, bad_inputs, tmp_path, case, extra, expected
):
  fill = dict(
    b=bad_inputs,
    c=inputs / 'contents',
    s=inputs / 'styles',
    m=trained_workdir,
    w=trained_word_workdir,
    o=tmp_path,
  )
  argv = {'--model': '{m}', '--content': '{c}', '--style': '{s}', '--out': '{o}/out'}
  for key, value in zip(extra[::2], extra[1::2] + [None], strict=False):
    if key == '--signal':
      argv.pop('--style')
    argv[key] = value
  args = [str(x).format(**fill) for kv in argv.items() for x in kv if x is not None]
  code, stdout, err = run(capsys, *args)
  assert code != 0, case
  assert stdout == '' and err.count('\n') == 1 and err.startswith('error: '), err
  assert 'Traceback' not in err
  for part in expected:
    assert part.format(**fill) in err, (case, err)
  assert not os.path.exists(tmp_path / 'out') or not os.listdir(tmp_path / 'out')


def test_help_lists_the_options(capsys):
  code, stdout, _ = run(capsys, '--help')
  assert code == 0
  for option in (
    '--model',
    '--content',
    '--style',
    '--signal',
    '--out',
    '--size',
    '--style-size',
    '--strength',
    '--mix',
    '--preserve-color',
    '--dtype',
    '--batch',
    '--tile-size',
    '--stats-max-side',
    '--exact-stats',
    '--max-pixels',
    '--overwrite',
  ):
    assert option in stdout


def test_python_dash_m_entry_point(trained_workdir, inputs, bad_inputs, tmp_path):
  content = image_files.list_images(inputs / 'contents')[0]
  command = [
    sys.executable,
    '-m',
    'zmnet_jax.stylize',
    '--model',
    trained_workdir,
    '--content',
    content,
    '--style',
    inputs / 'styles',
    '--out',
    tmp_path,
  ]
  result = subprocess.run(
    [str(c) for c in command], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
  )
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.startswith('written 4, skipped 0 ') and 'Traceback' not in result.stderr
  assert len(os.listdir(tmp_path)) == 4
  result = subprocess.run(
    [
      sys.executable,
      '-m',
      'zmnet_jax.stylize',
      '--model',
      trained_workdir,
      '--content',
      str(tmp_path / 'none.png'),
      '--style',
      str(inputs / 'styles'),
      '--out',
      str(tmp_path),
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    timeout=300,
    check=False,
  )
  assert result.returncode == 1
  assert result.stderr == f'error: {tmp_path}/none.png: file not found\n'
  # Bad checkpoints are one line too, with nothing printed after it by orbax's reads.
  for model, message in [
    ('mismatch', 'checkpoint does not match'),
    ('damaged', 'checkpoint cannot be read'),
  ]:
    result = subprocess.run(
      [
        sys.executable,
        '-m',
        'zmnet_jax.stylize',
        '--model',
        str(bad_inputs / model),
        '--content',
        str(content),
        '--style',
        str(inputs / 'styles'),
        '--out',
        str(tmp_path / model),
      ],
      cwd=REPO,
      capture_output=True,
      text=True,
      timeout=300,
      check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f'error: {bad_inputs}/{model}/checkpoints')
    assert message in result.stderr and result.stderr.count('\n') == 1, result.stderr
