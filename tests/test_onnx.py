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

"""ONNX export: graphs that reproduce the JAX model, the ONNX Runtime backend, the CLI."""

import hashlib
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip('onnxruntime', reason='the [onnx] extra is not installed')

import onnxruntime  # noqa: E402

from zmnet_jax import files, infer  # noqa: E402
from zmnet_jax.cli import (
  export as export_cli,  # noqa: E402
  stylize as stylize_cli,  # noqa: E402
)
from zmnet_jax.data import embedded, image_arrays, image_files  # noqa: E402
from zmnet_jax.infer import loading  # noqa: E402
from zmnet_jax.models import convs, zmnet  # noqa: E402
from zmnet_jax.portable import bundle, bundle_writer, onnx_graphs, runtime  # noqa: E402

TOLERANCE = 1e-4  # max abs difference of ONNX Runtime and JAX outputs in [0, 1]


def run_graph(builder, inputs: dict, output: str, shapes: dict) -> np.ndarray:
  """Runs the nodes of `builder` (inputs named as in `inputs`) and returns `output` (4-D)."""
  model = builder.model(
    'op_test',
    [onnx_graphs.float_input(n, list(shapes[n])) for n in inputs],
    [onnx_graphs.float_input(output, [f'd{i}' for i in range(4)])],
    'test',
  )
  sess = onnxruntime.InferenceSession(model.SerializeToString())
  return sess.run([output], inputs)[0]


# ----------------------------------------------------------------------------- the ops


def test_reflect_padding_is_exact():
  x = np.random.default_rng(0).uniform(size=(2, 3, 9, 7)).astype(np.float32)
  g = onnx_graphs.GraphBuilder()
  g.op('Identity', [g.reflect_pad('x', 4)], 'y')
  got = run_graph(g, {'x': x}, 'y', {'x': x.shape})
  want = np.asarray(convs.reflect_pad(jnp.asarray(x.transpose(0, 2, 3, 1)), 4)).transpose(
    0, 3, 1, 2
  )
  assert got.shape == (2, 3, 17, 15)
  np.testing.assert_array_equal(got, want)


def test_nearest_upsampling_is_exact():
  x = np.random.default_rng(1).uniform(size=(1, 4, 5, 6)).astype(np.float32)
  g = onnx_graphs.GraphBuilder()
  g.op('Identity', [g.upsample_nearest('x')], 'y')
  got = run_graph(g, {'x': x}, 'y', {'x': x.shape})
  want = np.asarray(convs.upsample_nearest(jnp.asarray(x.transpose(0, 2, 3, 1)), 2))
  np.testing.assert_array_equal(got, want.transpose(0, 3, 1, 2))


def test_instance_statistics_match_dynamic_instance_norm():
  rng = np.random.default_rng(2)
  x = (rng.normal(size=(2, 8, 12, 10)) * 30 + 5).astype(np.float32)  # large mean and spread
  gamma = rng.normal(size=(2, 8)).astype(np.float32)
  beta = rng.normal(size=(2, 8)).astype(np.float32)
  g = onnx_graphs.GraphBuilder()
  g.op('Identity', [g.instance_norm('x', 8, 'gamma', 'beta', 1e-5)], 'y')
  feeds = {'x': x, 'gamma': gamma, 'beta': beta}
  got = run_graph(g, feeds, 'y', {k: v.shape for k, v in feeds.items()})
  want = zmnet.dynamic_instance_norm(jnp.asarray(x.transpose(0, 2, 3, 1)), gamma, beta, 1e-5)
  np.testing.assert_allclose(got, np.asarray(want).transpose(0, 3, 1, 2), rtol=0, atol=1e-5)


# ----------------------------------------------------------------------------- models


def sessions(loaded):
  graphs = bundle_writer.graphs(loaded)
  encoder, transformer = graphs[bundle.ENCODER_FILE], graphs[bundle.TRANSFORMER_FILE]
  return (
    onnxruntime.InferenceSession(encoder.SerializeToString()),
    onnxruntime.InferenceSession(transformer.SerializeToString()),
  )


def onnx_din(encoder, signal, layers):
  names = [o.name for o in encoder.get_outputs()]
  out = dict(zip(names, encoder.run(None, {encoder.get_inputs()[0].name: signal}), strict=True))
  return {n: (out[onnx_graphs.gamma_name(n)], out[onnx_graphs.beta_name(n)]) for n, _ in layers}


def assert_parity(loaded, signal, contents):
  """ONNX Runtime and JAX agree on the DIN parameters and on the stylized images."""
  encoder, transformer = sessions(loaded)
  tnet = zmnet.TNetConfig.from_config(loaded.config.model.tnet.to_dict())
  layers = zmnet.conditioned_layers(tnet)
  want_din = loaded.model.encode(loaded.params, loaded.vgg_params, jnp.asarray(signal))
  got_din = onnx_din(encoder, signal, layers)
  for name, _ in layers:
    for got, want in zip(got_din[name], want_din[name], strict=True):
      np.testing.assert_allclose(got, np.asarray(want), rtol=0, atol=TOLERANCE)
  for content in contents:
    batch = np.broadcast_to(content, (signal.shape[0],) + content.shape).astype(np.float32)
    want = np.asarray(loaded.model.transform(loaded.params, jnp.asarray(batch), want_din))
    feeds = {'content': batch}
    for name, _ in layers:
      feeds[onnx_graphs.gamma_name(name)], feeds[onnx_graphs.beta_name(name)] = got_din[name]
    got = transformer.run(None, feeds)[0]
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) <= TOLERANCE


@pytest.fixture(scope='module')
def shipped():
  return loading.load_model(loading.resolve_model_path('default'))


def embedded_image(folder, name, short_side):
  image = image_arrays.to_float(embedded.IMAGES[folder][name]())
  return image_arrays.resize_short_side(image, short_side)


def test_shipped_model_matches_jax_on_a_real_pair_at_two_sizes(shipped):
  style = embedded_image('style_val', 'immunohistochemistry', 128)[None]
  contents = [
    embedded_image('content_val', 'chelsea', side)[:side, : side * 4 // 3 // 4 * 4]
    for side in (96, 256)
  ]
  assert [c.shape[:2] for c in contents] == [(96, 128), (256, 340)]
  assert_parity(shipped, style.astype(np.float32), contents)


def perturbed(params, seed=0):
  """Params with every leaf moved by noise (so zero-initialized parts are exercised)."""
  leaves, tree = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.key(seed), len(leaves))
  return jax.tree.unflatten(
    tree,
    [
      np.asarray(x + 0.05 * jax.random.normal(k, x.shape))
      for x, k in zip(leaves, keys, strict=True)
    ],
  )


def test_parallel_pnet_with_base_affine_matches_jax():
  from zmnet_jax.configs import default
  from zmnet_jax.models import model as model_lib

  config = default.get_config('tiny')
  config.model.pnet.variant = 'parallel'
  config.model.tnet.base_affine = True
  model, vgg_params = model_lib.build_model(config)
  batch = {'content': jnp.zeros((1, 32, 32, 3)), 'style': jnp.zeros((1, 32, 32, 3))}
  params = perturbed(model.init(jax.random.key(0), vgg_params, batch))
  loaded = loading.LoadedModel(model, params, vgg_params, config, 0, {}, None)
  rng = np.random.default_rng(3)
  assert_parity(
    loaded,
    rng.uniform(size=(2, 40, 36, 3)).astype(np.float32),
    [rng.uniform(size=(24, 32, 3)).astype(np.float32)],
  )


def test_word_model_exports_its_vector_encoder_and_vocabulary(trained_word_workdir, tmp_path):
  out = bundle_writer.export_onnx(trained_word_workdir, str(tmp_path / 'words'))
  assert sorted(os.listdir(out)) == sorted(
    [bundle.ENCODER_FILE, bundle.TRANSFORMER_FILE, bundle.MANIFEST, 'signal_vocabulary.json']
  )
  loaded = loading.load_model(loading.resolve_model_path(trained_word_workdir))
  dim = loaded.config.model.pnet.signal_dim
  vectors = np.random.default_rng(4).normal(size=(3, dim)).astype(np.float32)
  content = np.random.default_rng(6).uniform(size=(32, 32, 3)).astype(np.float32)
  assert_parity(loaded, vectors, [content])
  onnx_stylizer = runtime.OnnxStylizer.load(out)
  assert onnx_stylizer.signal_kind == 'vector'
  with pytest.raises(infer.InferenceError, match='image signals'):
    onnx_stylizer.encode_images([np.zeros((8, 8, 3))])


# ----------------------------------------------------------------------------- runtime


def test_onnx_stylizer_matches_the_jax_stylizer(trained_workdir, tmp_path):
  onnx_stylizer = runtime.OnnxStylizer.load(trained_workdir, threads=1)
  assert onnx_stylizer.bundle.startswith(os.path.join(runtime.cache.cache_dir(), 'onnx'))
  assert runtime.OnnxStylizer.load(trained_workdir).bundle == onnx_stylizer.bundle  # cached
  jax_stylizer = infer.Stylizer.load(trained_workdir)
  rng = np.random.default_rng(5)
  styles = [rng.uniform(size=(40, 52, 3)).astype(np.float32) for _ in range(2)]
  contents = rng.uniform(size=(2, 30, 45, 3)).astype(np.float32)  # not multiples of 4
  cases = {
    'plain': lambda s, d: s.stylize(contents, d),
    'mix': lambda s, d: s.stylize(contents, infer.mix(d, [1, 3])),
    'strength and colour': lambda s, d: s.stylize(
      contents, s.with_strength(d, contents, 0.4), preserve_colors=True
    ),
    'work size': lambda s, d: s.stylize(contents, d, work_size=24),
  }
  for name, case in cases.items():
    got = case(onnx_stylizer, onnx_stylizer.encode_images(styles))
    want = case(jax_stylizer, jax_stylizer.encode_images(styles))
    assert got.shape == want.shape, name
    assert np.max(np.abs(got - want)) <= TOLERANCE, name
  assert got.shape == (2, 2, 30, 45, 3)


def test_a_damaged_graph_is_refused(trained_workdir, tmp_path):
  out = bundle_writer.export_onnx(trained_workdir, str(tmp_path / 'b'))
  path = os.path.join(out, bundle.TRANSFORMER_FILE)
  data = bytearray(open(path, 'rb').read())
  data[len(data) // 2] ^= 1
  open(path, 'wb').write(bytes(data))
  with pytest.raises(infer.InferenceError, match='transformer.onnx: damaged'):
    runtime.OnnxStylizer.load(out)
  manifest = json.loads(open(os.path.join(out, bundle.MANIFEST)).read())
  del manifest['sha256']  # without checksums, the damage is what ONNX Runtime finds
  open(os.path.join(out, bundle.MANIFEST), 'w').write(json.dumps(manifest))
  open(path, 'wb').write(b'not a graph')
  with pytest.raises(infer.InferenceError, match='transformer.onnx: not a loadable ONNX graph'):
    runtime.OnnxStylizer.load(out)
  del manifest['layers']
  open(os.path.join(out, bundle.MANIFEST), 'w').write(json.dumps(manifest))
  with pytest.raises(infer.InferenceError, match='manifest lacks layers'):
    runtime.OnnxStylizer.load(out)


# ----------------------------------------------------------------------------- CLI


def cli(capsys, main, *argv):
  code = main([str(a) for a in argv])
  captured = capsys.readouterr()
  return code, captured.err


@pytest.fixture(scope='module')
def pair(tmp_path_factory):
  root = tmp_path_factory.mktemp('onnx_pair')
  content = embedded_image('content_val', 'chelsea', 48)[:, :60]
  image_files.save_image(root / 'content.png', content)
  image_files.save_image(
    root / 'style.png', embedded_image('style_val', 'immunohistochemistry', 64)
  )
  return root


def test_export_then_stylize_with_the_onnx_backend(capsys, trained_workdir, pair, tmp_path):
  out = tmp_path / 'bundle'
  code, err = cli(
    capsys, export_cli.main, '--model', trained_workdir, '--format', 'onnx', '--out', out
  )
  assert code == 0, err
  manifest = json.loads((out / bundle.MANIFEST).read_text())
  for name in (bundle.ENCODER_FILE, bundle.TRANSFORMER_FILE):
    assert manifest['sha256'][name] == hashlib.sha256((out / name).read_bytes()).hexdigest()
  results = {}
  for backend, model in (('onnx', out), ('jax', trained_workdir)):
    target = tmp_path / f'{backend}.png'
    code, err = cli(
      capsys,
      stylize_cli.main,
      '--backend',
      backend,
      '--model',
      model,
      '--content',
      pair / 'content.png',
      '--style',
      pair / 'style.png',
      '--out',
      target,
    )
    assert code == 0, err
    results[backend] = image_files.load_image(str(target)).astype(int)
  assert results['onnx'].shape == (48, 60, 3)
  assert np.max(np.abs(results['onnx'] - results['jax'])) <= 1  # uint8 rounding


def test_onnx_cli_errors_are_one_line(capsys, trained_workdir, pair, tmp_path):
  out = tmp_path / 'bundle'
  assert (
    cli(capsys, export_cli.main, '--model', trained_workdir, '--format', 'onnx', '--out', out)[0]
    == 0
  )
  stylize_args = ['--content', pair / 'content.png', '--style', pair / 'style.png']
  cases = [
    (export_cli.main, ['--model', trained_workdir, '--format', 'onnx', '--out', out], 'exists'),
    (
      export_cli.main,
      ['--model', trained_workdir, '--format', 'onnx', '--out', pair],
      'not an ONNX export',
    ),
    (
      stylize_cli.main,
      ['--model', out, *stylize_args, '--out', tmp_path / 'x.png'],
      '--backend onnx',
    ),
    (
      stylize_cli.main,
      ['--backend', 'onnx', '--exact-stats', *stylize_args, '--out', tmp_path / 'y.png'],
      'exact-stats',
    ),
  ]
  for main, argv, words in cases:
    code, err = cli(capsys, main, *argv)
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and lines[0].startswith('error: '), err
    assert words in lines[0], err
  assert sorted(os.listdir(pair)) == ['content.png', 'style.png']  # nothing was replaced
  code, err = cli(
    capsys,
    export_cli.main,
    '--model',
    trained_workdir,
    '--format',
    'onnx',
    '--out',
    out,
    '--overwrite',
  )
  assert code == 0 and sorted(os.listdir(out)) == sorted(
    [bundle.ENCODER_FILE, bundle.TRANSFORMER_FILE, bundle.MANIFEST]
  )
  assert not [p for p in os.listdir(tmp_path) if p != 'bundle']  # no staging folders left


def test_export_overwrite_replaces_the_bundle_whole_with_the_umask(
  capsys, trained_workdir, tmp_path, monkeypatch
):
  """--overwrite: no fixed side names (an old run's DIR.old stays untouched and harmless),
  nothing hidden left, the folder readable by others as the umask says (not 0700); a
  write that fails names the user's folder and leaves the old bundle as it was."""
  out = tmp_path / 'bundle'
  export_argv = ['--model', trained_workdir, '--format', 'onnx', '--out', out]
  assert cli(capsys, export_cli.main, *export_argv)[0] == 0
  leftover = tmp_path / 'bundle.old'  # what an interrupted older version left behind
  leftover.mkdir()
  (leftover / 'x').write_text('kept')
  code, err = cli(capsys, export_cli.main, *export_argv, '--overwrite')
  assert code == 0, err
  assert sorted(os.listdir(tmp_path)) == ['bundle', 'bundle.old']
  assert (leftover / 'x').read_text() == 'kept'
  umask = os.umask(0o022)
  os.umask(umask)
  assert os.stat(out).st_mode & 0o777 == 0o777 & ~umask
  before = {name: (out / name).read_bytes() for name in os.listdir(out)}

  def full_disk(path, data):
    raise OSError(28, 'No space left on device')  # as a write() on a full disk: no file

  monkeypatch.setattr(files, 'write_plain', full_disk)
  code, err = cli(capsys, export_cli.main, *export_argv, '--overwrite')
  assert (code, err.strip()) == (1, f'error: {out}: No space left on device')

  def denied(path, data):
    raise PermissionError(13, 'Permission denied', path)

  monkeypatch.setattr(files, 'write_plain', denied)
  code, err = cli(capsys, export_cli.main, *export_argv, '--overwrite')
  assert code == 1 and err.startswith(f'error: {out}/') and 'Permission denied' in err, err
  assert '.tmp' not in err
  assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
  assert sorted(os.listdir(tmp_path)) == ['bundle', 'bundle.old']


def test_a_bundle_without_its_manifest_is_named_as_such(capsys, trained_workdir, pair, tmp_path):
  out = tmp_path / 'bundle'
  assert (
    cli(capsys, export_cli.main, '--model', trained_workdir, '--format', 'onnx', '--out', out)[0]
    == 0
  )
  os.remove(out / bundle.MANIFEST)
  code, err = cli(
    capsys,
    stylize_cli.main,
    *('--backend', 'onnx', '--model', out, '--content', pair / 'content.png'),
    *('--style', pair / 'style.png', '--out', tmp_path / 'x.png'),
  )
  assert code == 1
  assert err.strip() == (
    f'error: {out}: an ONNX bundle without its manifest zmnet_onnx.json (it holds '
    'style_encoder.onnx, transformer.onnx); export it again with zmnet-export --format onnx'
  )


def test_onnx_backend_without_the_extra_says_how_to_install(capsys, pair, tmp_path, monkeypatch):
  import zmnet_jax.portable

  monkeypatch.setitem(sys.modules, 'zmnet_jax.portable.runtime', None)  # as if not installed
  monkeypatch.delattr(zmnet_jax.portable, 'runtime')
  code, err = cli(
    capsys,
    stylize_cli.main,
    '--backend',
    'onnx',
    '--content',
    pair / 'content.png',
    '--style',
    pair / 'style.png',
    '--out',
    tmp_path / 'z.png',
  )
  assert code != 0 and "pip install 'zmnet_jax[onnx]'" in err and len(err.strip().splitlines()) == 1
