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

"""Bad files, options and faults across every command.

Each case runs a command's `main` in-process on a small world of files and asserts: the
exit status, one line on stderr starting `error: ` (no traceback) that names the problem,
nothing on stdout, and that no file outside the case's output path was created, changed or
removed. The shipped model serves stylize, animate and evaluate, so no training is needed.
"""

import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from zmnet_jax import params_file, workdir as workdir_lib
from zmnet_jax.cli import animate, evaluate, export, stylize, train
from zmnet_jax.configs import default as train_config
from zmnet_jax.infer import loading

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = {
  'stylize': stylize.main,
  'animate': animate.main,
  'evaluate': evaluate.main,
  'export': export.main,
  'train': lambda argv: train.main(['train', *argv]),
}


def save(path, height, width, seed=0):
  pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
  Image.fromarray(pixels).save(path)


@pytest.fixture(scope='module')
def world(tmp_path_factory):
  """Good and bad inputs: {name: path}. Outputs go under `out/`, which starts empty."""
  root = tmp_path_factory.mktemp('world')
  (root / 'contents').mkdir()
  (root / 'styles').mkdir()
  save(root / 'contents' / 'c.png', 48, 64, 1)
  save(root / 'styles' / 's.png', 64, 64, 2)
  save(root / 'styles' / 't.png', 64, 64, 3)
  save(root / 'anim.gif', 32, 32, 4)
  save(root / 'thin.png', 3, 500, 5)
  labels = np.repeat(np.array([0, 120, 255], np.uint8), [20, 20, 24])[None, :, None]
  Image.fromarray(np.broadcast_to(labels * [1, 0, 0], (48, 64, 3)).astype(np.uint8)).save(
    root / 'labels3.png'
  )
  Image.fromarray(np.full((48, 64), 255, np.uint8)).save(root / 'mask.png')
  Image.fromarray(np.full((64, 64), 255, np.uint8)).save(root / 'square_mask.png')
  (root / 'text.png').write_text('not an image')
  (root / 'empty.png').write_bytes(b'')
  good = (root / 'contents' / 'c.png').read_bytes()
  (root / 'truncated.png').write_bytes(good[: len(good) // 2])
  os.mkfifo(root / 'fifo.png')
  (root / 'fifo_folder').mkdir()
  os.mkfifo(root / 'fifo_folder' / 'pipe.png')
  os.symlink('loop.png', root / 'loop.png')
  os.symlink('gone.png', root / 'broken.png')
  (root / 'folder.png').mkdir()
  (root / 'a_file').write_text('in the way')
  (root / 'model.safetensors').write_text('not safetensors')
  np.save(root / 'nan.npy', np.array([np.nan, 1.0], np.float32))
  (root / 'vectors.txt').write_text('1 2 3')
  shipped = loading.resolve_model_path('default').params_path
  config, params, card, vocab = params_file.load(shipped)
  params_file.save(root / 'flipped.safetensors', params, config, card, vocab)
  flip_byte(root / 'flipped.safetensors', -100)
  (root / 'stray').mkdir()
  (root / 'stray' / 'config.json').write_text('{"seed": 123}')
  (root / 'evaluated').mkdir()
  (root / 'evaluated' / 'metrics.json').write_text('{}')
  (root / 'out').mkdir()
  return root


def flip_byte(path, offset):
  data = bytearray(open(path, 'rb').read())
  data[offset] ^= 0x01
  open(path, 'wb').write(bytes(data))


def snapshot(root):
  """{relative path: (kind, digest)} of everything below `root` (links not followed)."""
  found = {}
  for folder, dirs, names in os.walk(root):
    for name in dirs + names:
      path = os.path.join(folder, name)
      relative = os.path.relpath(path, root)
      if os.path.islink(path):
        found[relative] = ('link', os.readlink(path))
      elif os.path.isdir(path):
        found[relative] = ('dir', '')
      elif os.path.isfile(path):
        found[relative] = ('file', hashlib.sha256(open(path, 'rb').read()).hexdigest())
      else:
        found[relative] = ('other', '')
  return found


def changed_outside(before, after, allowed):
  """Paths created, changed or removed that are not under one of `allowed`."""
  paths = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
  return sorted(p for p in paths if not any(p == a or p.startswith(a + os.sep) for a in allowed))


# (case id, command, argv, exit status, parts of the error line, paths the case may change).
# {w} is the world folder; the default argv of each command is completed in `full_argv`.
CASES = [
  # ------------------------------------------------------------------ stylize: images
  ('content symlink loop', 'stylize', ['--content', '{w}/loop.png'], 1, ['loop.png', 'link loop']),
  ('content broken link', 'stylize', ['--content', '{w}/broken.png'], 1, ['broken symbolic link']),
  ('content empty', 'stylize', ['--content', '{w}/empty.png'], 1, ['empty.png', 'empty file']),
  ('content text', 'stylize', ['--content', '{w}/text.png'], 1, ['not a recognized image']),
  ('content truncated', 'stylize', ['--content', '{w}/truncated.png'], 1, ['truncated']),
  ('content FIFO', 'stylize', ['--content', '{w}/fifo.png'], 1, ['fifo.png', 'a FIFO']),
  ('folder of FIFOs', 'stylize', ['--content', '{w}/fifo_folder'], 1, ['no image files']),
  ('content a folder .png', 'stylize', ['--content', '{w}/folder.png'], 1, ['no image files']),
  ('style FIFO', 'stylize', ['--style', '{w}/fifo.png'], 1, ['fifo.png', 'a FIFO']),
  ('style empty', 'stylize', ['--style', '{w}/empty.png'], 1, ['empty.png', 'empty file']),
  (
    'style size huge',
    'stylize',
    ['--style-size', '16000'],
    1,
    ['s.png', 'style size 16000', 'style limit'],
  ),
  ('style thin', 'stylize', ['--style', '{w}/thin.png'], 1, ['thin.png', 'style limit']),
  (
    'content resized too large',
    'stylize',
    ['--size', '5000', '--max-pixels', '1e6'],
    1,
    ['c.png', '--size 5000', '--max-pixels'],
  ),
  # ------------------------------------------------------------------ stylize: options
  ('size zero', 'stylize', ['--size', '0'], 2, ['--size', 'in [16, 16384]']),
  ('size past the limit', 'stylize', ['--size', '100000'], 2, ['--size', 'in [16, 16384]']),
  ('threads past the cores', 'stylize', ['--threads', '100000'], 2, ['--threads', 'in [1, ']),
  ('batch past the limit', 'stylize', ['--batch', '5000'], 2, ['--batch', 'in [1, 1024]']),
  ('batch zero', 'stylize', ['--batch', '0'], 2, ['--batch', 'in [1, 1024]']),
  ('tile size tiny', 'stylize', ['--tile-size', '5'], 2, ['--tile-size', 'in [16, 16384]']),
  ('max pixels nan', 'stylize', ['--max-pixels', 'nan'], 2, ['--max-pixels', 'finite']),
  ('strength inf', 'stylize', ['--strength', 'inf'], 2, ['--strength', '[0, 1]']),
  ('mix zero', 'stylize', ['--mix', '0,0'], 2, ['--mix', 'not all zero']),
  ('mix negative', 'stylize', ['--mix', '2,-1'], 2, ['--mix', 'not be negative', '--text']),
  ('mix inf', 'stylize', ['--mix', 'inf,1'], 2, ['--mix', 'finite']),
  ('mask not an image', 'stylize', ['--mask', '{w}/text.png'], 1, ['text.png', 'not a recognized']),
  (
    'mask of another shape',
    'stylize',
    ['--mask', '{w}/square_mask.png'],
    1,
    ['square_mask.png: 64x64 does not fit', 'c.png (64x48)'],
  ),
  (
    'mask with too many labels',
    'stylize',
    ['--mask', '{w}/labels3.png'],
    1,
    ['labels3.png', '3 colours for 2 signals'],
  ),
  (
    'mask for one style',
    'stylize',
    ['--style', '{w}/styles/s.png', '--mask', '{w}/mask.png'],
    1,
    ['mask.png', 'two or more signals'],
  ),
  ('mask and mix', 'stylize', ['--mask', '{w}/mask.png', '--mix', '1,1'], 2, ['--mask and --mix']),
  # ------------------------------------------------------------------ stylize: outputs
  (
    'output is the content',
    'stylize',
    ['--style', '{w}/styles/s.png', '--out', '{w}/contents/c.png', '--overwrite'],
    1,
    ['is an input'],
  ),
  (
    'output is the style',
    'stylize',
    ['--style', '{w}/styles/s.png', '--out', '{w}/styles/s.png', '--overwrite'],
    1,
    ['is an input'],
  ),
  ('output format', 'stylize', ['--out', '{w}/out/x.gif'], 1, ['unsupported output format']),
  ('output under a file', 'stylize', ['--out', '{w}/a_file/x'], 1, ['a_file is a file']),
  # ------------------------------------------------------------------ stylize: models, signals
  ('model missing', 'stylize', ['--model', '{w}/none'], 1, ['model not found']),
  (
    'model not safetensors',
    'stylize',
    ['--model', '{w}/model.safetensors'],
    1,
    ['model.safetensors', 'not a readable safetensors'],
  ),
  (
    'model bit flipped',
    'stylize',
    ['--model', '{w}/flipped.safetensors'],
    1,
    ['flipped.safetensors', 'damaged'],
  ),
  ('vectors not npy', 'stylize', ['--signal', '{w}/vectors.txt'], 1, ['must be a .npy file']),
  ('vectors nan', 'stylize', ['--signal', '{w}/nan.npy'], 1, ['NaN or infinite']),
  ('text for an image model', 'stylize', ['--text', 'noon'], 1, ['--text needs a model']),
  # ------------------------------------------------------------------ animate
  ('animate fps zero', 'animate', ['--fps', '0'], 2, ['--fps', '(0, 1000]']),
  ('animate batch zero', 'animate', ['--batch', '0'], 2, ['--batch', 'in [1, 1024]']),
  ('animate size negative', 'animate', ['--size', '-5'], 2, ['--size', 'in [16, 16384]']),
  ('animate style size zero', 'animate', ['--style-size', '0'], 2, ['--style-size']),
  ('animate one frame', 'animate', ['--frames', '1'], 2, ['--frames', '[2, 10000]']),
  ('animate png output', 'animate', ['--out', '{w}/out/a.png'], 1, ['.gif or .mp4']),
  (
    'animate existing output',
    'animate',
    ['--out', '{w}/anim.gif'],
    1,
    ['anim.gif', 'exists', '--overwrite'],
  ),
  (
    'animate output is the content',
    'animate',
    ['--content', '{w}/anim.gif', '--out', '{w}/anim.gif', '--overwrite'],
    1,
    ['is an input'],
  ),
  ('animate one signal', 'animate', ['--signals', '{w}/styles/s.png'], 1, ['at least 2 signals']),
  ('animate content FIFO', 'animate', ['--content', '{w}/fifo.png'], 1, ['a FIFO']),
  ('animate style missing', 'animate', ['--signals', '{w}/s.png,{w}/none.png'], 1, ['not found']),
  # ------------------------------------------------------------------ evaluate
  ('evaluate size', 'evaluate', ['--size', '30'], 2, ['--size', 'multiple of 4']),
  ('evaluate limit zero', 'evaluate', ['--limit-styles', '0'], 2, ['--limit-styles']),
  ('evaluate no contents', 'evaluate', ['--content', '{w}/none'], 1, ['folder not found']),
  ('evaluate out is a file', 'evaluate', ['--out', '{w}/a_file'], 1, ['a_file', 'is a file']),
  (
    'evaluate earlier results',
    'evaluate',
    ['--out', '{w}/evaluated'],
    1,
    ['metrics.json', '--overwrite'],
  ),
  (
    'evaluate out is the styles',
    'evaluate',
    ['--out', '{w}/styles', '--overwrite'],
    1,
    ['is an input folder'],
  ),
  # ------------------------------------------------------------------ export
  ('export suffix', 'export', ['--out', '{w}/out/m.bin'], 2, ['.safetensors']),
  ('export exists', 'export', ['--out', '{w}/model.safetensors'], 1, ['exists']),
  ('export no workdir', 'export', ['--model', '{w}/none'], 1, ['none']),
  # ------------------------------------------------------------------ train
  ('train unknown field', 'train', ['--config.train.nonexistent=3'], 2, ['no such field']),
  (
    'train negative steps',
    'train',
    ['--config.train.num_steps=-5'],
    1,
    ['num_steps', 'at least 1'],
  ),
  ('train nan lr', 'train', ['--config.optim.learning_rate=nan'], 1, ['learning_rate', 'finite']),
  ('train zero batch', 'train', ['--config.train.batch_size=0'], 1, ['batch_size', 'at least 1']),
  (
    'train config typo',
    'train',
    ['--config', 'default:typo'],
    2,
    ["unknown config variant 'typo'"],
  ),
  ('train no config', 'train', ['--config', '{w}/none.py'], 2, ['no such config file']),
  (
    'train folder unset',  # named by the flag that sets it
    'train',
    [
      '--config.data.source=folders',
      '--config.data.content_dir={w}/contents',
      '--config.data.style_dir={w}/styles',
      '--config.data.style_val_dir={w}/styles',
    ],
    1,
    ['--config.data.content_val_dir is not set'],
  ),
  (
    'train damaged init_from',  # refused before it writes: the workdir is not left behind
    'train',
    ['--config.init_from={w}/model.safetensors'],
    1,
    ['config.init_from', '{w}/model.safetensors'],
  ),
  (
    'train stray config',
    'train',
    ['--workdir', '{w}/stray'],
    1,
    ['stray/config.json', 'another run', 'differs from this config'],
  ),
]
# Besides out/: a run takes its workdir's lock (the stray config itself must stay as it was).
MAY_CHANGE = {'train stray config': ['stray/.lock']}
# What each command gets unless the case gives it.
DEFAULTS = {
  'stylize': {'--content': '{w}/contents', '--style': '{w}/styles', '--out': '{w}/out/s'},
  'animate': {
    '--content': '{w}/contents/c.png',
    '--signals': '{w}/styles/s.png,{w}/styles/t.png',
    '--out': '{w}/out/a.gif',
    '--frames': '2',
  },
  'evaluate': {'--content': '{w}/contents', '--styles': '{w}/styles', '--out': '{w}/out/e'},
  'export': {'--model': '{w}/stray', '--out': '{w}/out/m.safetensors'},
  'train': {'--config': 'tiny', '--workdir': '{w}/out/t'},
}


FLAGS = ('--overwrite',)


def full_argv(command, argv, world):
  """The case's argv over the command's defaults, with {w} filled in."""
  options, flags, rest = dict(DEFAULTS[command]), [], list(argv)
  while rest:
    arg = rest.pop(0)
    if arg in FLAGS or arg.startswith('--config.'):
      flags.append(arg)
      continue
    if arg in ('--signal', '--text'):
      options.pop('--style')
    options[arg] = rest.pop(0)
  return [a.format(w=world) for a in [*(a for kv in options.items() for a in kv), *flags]]


def test_there_are_at_least_30_kinds_of_bad_input():
  assert len(CASES) >= 30 and len({c[0] for c in CASES}) == len(CASES)
  assert {c[1] for c in CASES} == set(COMMANDS)


@pytest.mark.parametrize('case, command, argv, status, parts', CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
  capsys, world, case, command, argv, status, parts
):
  args = full_argv(command, argv, world)
  before = snapshot(world)
  try:
    code = COMMANDS[command](args)
  finally:
    created = sorted(os.listdir(world / 'out'))
    for name in created:  # so that one failing case does not fail the next ones
      shutil.rmtree(world / 'out' / name, ignore_errors=True)
      (world / 'out' / name).unlink(missing_ok=True)
  captured = capsys.readouterr()
  err = captured.err
  assert code == status, (case, err)
  lines = [line for line in err.splitlines() if not line.startswith('note: ')]
  assert len(lines) == 1 and lines[0].startswith('error: '), (case, err)
  assert 'Traceback' not in err and captured.out == ''
  for part in parts:
    assert part.format(w=world) in lines[0], (case, lines[0])
  allowed = ['out', *MAY_CHANGE.get(case, [])]
  assert changed_outside(before, snapshot(world), allowed) == []
  assert created == [], (case, created)


def test_a_fifo_content_is_refused_without_hanging(world):
  """In a subprocess with a timeout: a regression here would block on the open forever."""
  argv = full_argv('stylize', ['--content', '{w}/fifo.png'], world)
  result = subprocess.run(
    [sys.executable, '-m', 'zmnet_jax.stylize', *argv],
    capture_output=True,
    text=True,
    timeout=120,
    cwd=REPO,
    env=dict(os.environ, PYTHONPATH=REPO),
  )
  assert result.returncode == 1 and 'a FIFO' in result.stderr, result.stderr


def test_huge_mix_weights_mix_instead_of_overflowing(capsys, world, tmp_path):
  out = tmp_path / 'mixed.png'
  args = full_argv('stylize', ['--mix', '1e308,1e308', '--out', str(out)], world)
  assert stylize.main(args) == 0, capsys.readouterr().err
  equal = tmp_path / 'equal.png'
  assert stylize.main(full_argv('stylize', ['--mix', '1,1', '--out', str(equal)], world)) == 0
  mixed = np.asarray(Image.open(out), np.float32)
  assert mixed.std() > 10  # not flat grey
  np.testing.assert_array_equal(mixed, np.asarray(Image.open(equal), np.float32))


def test_a_locked_workdir_refuses_a_second_run_naming_the_holder(capsys, tmp_path):
  workdir = str(tmp_path / 'busy')
  os.makedirs(workdir)
  with workdir_lib.locked(workdir):
    code = train.main(['train', '--config', 'tiny', '--workdir', workdir])
  err = capsys.readouterr().err.strip()
  assert code == 1 and len(err.splitlines()) == 1
  assert f'PID {os.getpid()}' in err and 'another run is using it' in err
  assert os.listdir(workdir) == [workdir_lib.LOCK_FILE]


def test_a_refused_run_does_not_block_its_retry(capsys, tmp_path):
  """A run refused for its init_from (found after the lock is taken) writes nothing into
  an existing workdir either: the corrected retry, with another config, is not refused as
  'another run's'."""
  workdir = tmp_path / 'run'
  workdir.mkdir()
  (tmp_path / 'damaged.safetensors').write_bytes(b'not safetensors')
  argv = ['train', '--config', 'tiny', '--workdir', str(workdir)]
  assert train.main([*argv, f'--config.init_from={tmp_path}/damaged.safetensors']) == 1
  assert 'config.init_from' in capsys.readouterr().err
  assert os.listdir(workdir) == [workdir_lib.LOCK_FILE]
  config = train_config.get_config('tiny')
  workdir_lib.check_fresh_config(config, str(workdir))  # the retry's check: passes


def test_a_stale_lock_file_does_not_block(tmp_path):
  workdir = str(tmp_path / 'stale')
  os.makedirs(workdir)
  with open(os.path.join(workdir, workdir_lib.LOCK_FILE), 'w') as f:
    f.write('PID 999999 on a-dead-host\n')  # a crashed run's file, no lock held
  with workdir_lib.locked(workdir):
    holder = open(os.path.join(workdir, workdir_lib.LOCK_FILE)).read()
  assert f'PID {os.getpid()}' in holder
