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

"""Tests for zmnet_jax.image_files."""

import io
import os

import numpy as np
from PIL import Image
import pytest

from zmnet_jax import files
from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.data.image_files import ImageError


def _rgb(height=20, width=30, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _smooth_rgb(height=24, width=40):
  """A gradient that survives JPEG compression almost unchanged."""
  y, x = np.mgrid[0:height, 0:width]
  return np.stack([x * 255 // (width - 1), y * 255 // (height - 1), 0 * x + 128], -1).astype(
    np.uint8
  )


def _save(tmp_path, name, image, **kwargs):
  path = tmp_path / name
  image.save(path, **kwargs)
  return path


def _assert_rgb(array, shape):
  assert array.dtype == np.uint8
  assert array.shape == shape


# --- modes -------------------------------------------------------------------


def test_rgb_png_round_trips_exactly(tmp_path):
  pixels = _rgb()
  path = _save(tmp_path, 'rgb.png', Image.fromarray(pixels))
  np.testing.assert_array_equal(image_files.load_image(path), pixels)


def test_grayscale_is_replicated_to_three_channels(tmp_path):
  gray = _rgb()[..., 0]
  result = image_files.load_image(_save(tmp_path, 'g.png', Image.fromarray(gray)))
  _assert_rgb(result, (20, 30, 3))
  for channel in range(3):
    np.testing.assert_array_equal(result[..., channel], gray)


def test_one_bit_image_is_black_and_white(tmp_path):
  bits = _rgb()[..., 0] > 127
  path = _save(tmp_path, 'bits.png', Image.fromarray(bits))
  result = image_files.load_image(path)
  np.testing.assert_array_equal(result[..., 1], np.where(bits, 255, 0))


def test_rgba_is_composited_on_white(tmp_path):
  rgba = np.zeros((2, 3, 4), np.uint8)
  rgba[..., :3] = (200, 10, 50)
  rgba[0, :, 3] = 255  # Opaque row.
  rgba[1, 0, 3] = 0  # Transparent -> white.
  rgba[1, 1:, 3] = 128  # Half.
  path = _save(tmp_path, 'a.png', Image.fromarray(rgba, 'RGBA'))
  result = image_files.load_image(path).astype(int)
  np.testing.assert_array_equal(result[0, 0], (200, 10, 50))
  np.testing.assert_array_equal(result[1, 0], (255, 255, 255))
  np.testing.assert_allclose(result[1, 1], (228, 132, 152), atol=1)


def test_gray_alpha_is_composited_on_white(tmp_path):
  la = np.stack([np.full((2, 2), 40), np.array([[255, 0], [255, 0]])], -1)
  image = Image.fromarray(la.astype(np.uint8), 'LA')
  result = image_files.load_image(_save(tmp_path, 'la.png', image))
  np.testing.assert_array_equal(result[:, 0], [[40] * 3, [40] * 3])
  np.testing.assert_array_equal(result[:, 1], [[255] * 3, [255] * 3])


def test_palette_image_matches_its_colours(tmp_path):
  pixels = _rgb()
  palette = Image.fromarray(pixels).quantize(16)
  path = _save(tmp_path, 'p.png', palette)
  expected = np.asarray(palette.convert('RGB'))
  np.testing.assert_array_equal(image_files.load_image(path), expected)


def test_palette_transparency_becomes_white(tmp_path):
  palette = Image.new('P', (4, 4), 1)
  palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
  palette.putpixel((0, 0), 0)
  path = _save(tmp_path, 't.png', palette, transparency=0)
  result = image_files.load_image(path)
  np.testing.assert_array_equal(result[0, 0], (255, 255, 255))
  np.testing.assert_array_equal(result[1, 1], (255, 0, 0))


def test_cmyk_is_converted_to_rgb(tmp_path):
  cmyk = Image.fromarray(_rgb()).convert('CMYK')
  path = _save(tmp_path, 'c.tif', cmyk)
  result = image_files.load_image(path)
  np.testing.assert_array_equal(result, np.asarray(cmyk.convert('RGB')))


def test_sixteen_bit_is_scaled_to_eight_bit(tmp_path):
  values = np.array([[0, 257, 65535], [32896, 1000, 60000]], np.uint16)
  image = Image.fromarray(values)
  assert image.mode == 'I;16'
  result = image_files.load_image(_save(tmp_path, '16.png', image))
  _assert_rgb(result, (2, 3, 3))
  np.testing.assert_array_equal(result[..., 0], np.round(values / 257.0).astype(np.uint8))


def test_thirty_two_bit_integer_is_read_as_sixteen_bit(tmp_path):
  values = np.array([[0, 257, 70000, -5]], np.int32)
  image = Image.fromarray(values)
  assert image.mode == 'I'
  result = image_files.load_image(_save(tmp_path, '32.tif', image))
  np.testing.assert_array_equal(result[0, :, 2], [0, 1, 255, 0])


def test_float_image_is_refused(tmp_path):
  image = Image.fromarray(np.ones((3, 3), np.float32))
  path = _save(tmp_path, 'f.tif', image)
  with pytest.raises(ImageError, match='f.tif: unsupported floating-point'):
    image_files.load_image(path)


def test_exif_orientation_is_applied(tmp_path):
  pixels = _smooth_rgb(24, 40)
  exif = Image.Exif()
  exif[0x0112] = 6  # Rotate 90 degrees clockwise to display.
  path = _save(tmp_path, 'rot.jpg', Image.fromarray(pixels), exif=exif)
  result = image_files.load_image(path)
  _assert_rgb(result, (40, 24, 3))
  clockwise = np.rot90(pixels, k=-1)
  assert np.abs(result.astype(int) - clockwise).mean() < 3


def test_decode_image_bytes_matches_load_image(tmp_path):
  path = _save(tmp_path, 'x.png', Image.fromarray(_rgb()))
  np.testing.assert_array_equal(
    image_files.decode_image_bytes(path.read_bytes(), 'x.png'),
    image_files.load_image(path),
  )


# --- errors ------------------------------------------------------------------


def _jpeg_bytes():
  buffer = io.BytesIO()
  Image.fromarray(_rgb(64, 64)).save(buffer, format='JPEG')
  return buffer.getvalue()


def _assert_one_line_error(path, fragment):
  with pytest.raises(ImageError) as info:
    image_files.load_image(path)
  message = str(info.value)
  assert '\n' not in message
  assert str(path) in message
  assert fragment in message
  return message


@pytest.mark.parametrize('keep', [0.97, 0.5, 0.05])
def test_truncated_jpeg_is_an_error(tmp_path, keep):
  data = _jpeg_bytes()
  path = tmp_path / 'photo.jpg'
  path.write_bytes(data[: int(len(data) * keep)])
  with pytest.raises(ImageError, match=r'photo\.jpg: ') as info:
    image_files.load_image(path)
  assert '\n' not in str(info.value)


def test_truncated_jpeg_reports_truncation(tmp_path):
  path = tmp_path / 'photo.jpg'
  path.write_bytes(_jpeg_bytes()[:-200])
  _assert_one_line_error(path, 'truncated or corrupt image')


def test_zero_byte_file_is_an_error(tmp_path):
  path = tmp_path / 'empty.jpg'
  path.write_bytes(b'')
  _assert_one_line_error(path, 'empty file')


def test_text_file_named_jpg_is_an_error(tmp_path):
  path = tmp_path / 'notes.jpg'
  path.write_text('not an image\n')
  _assert_one_line_error(path, 'not a recognized image file')


def test_missing_file_is_an_error(tmp_path):
  _assert_one_line_error(tmp_path / 'missing.png', 'file not found')


def test_folder_instead_of_file_is_an_error(tmp_path):
  folder = tmp_path / 'dir.png'
  folder.mkdir()
  _assert_one_line_error(folder, 'is a folder')


def test_too_many_pixels_is_an_error(tmp_path):
  path = _save(tmp_path, 'big.png', Image.fromarray(_rgb(100, 100)))
  with pytest.raises(ImageError, match=r'big\.png: too many pixels'):
    image_files.load_image(path, max_pixels=9_999)
  assert image_files.load_image(path, max_pixels=10_000).shape == (100, 100, 3)


def test_image_error_is_a_value_error():
  assert issubclass(ImageError, ValueError)


# --- save_image ----------------------------------------------------------------


def test_save_float_png_round_trips(tmp_path):
  pixels = _rgb()
  path = tmp_path / 'out' / 'nested' / 'x.png'
  image_files.save_image(path, pixels.astype(np.float32) / 255.0)
  np.testing.assert_array_equal(image_files.load_image(path), pixels)


def test_save_clips_float_values(tmp_path):
  path = tmp_path / 'clip.png'
  image_files.save_image(path, np.array([[[-1.0, 0.5, 2.0]]]))
  np.testing.assert_array_equal(image_files.load_image(path)[0, 0], (0, 128, 255))


def test_save_uint8_jpeg(tmp_path):
  pixels = _smooth_rgb()
  path = tmp_path / 'x.JPG'
  image_files.save_image(path, pixels)
  assert Image.open(path).format == 'JPEG'
  assert np.abs(image_files.load_image(path).astype(int) - pixels).mean() < 3


def test_save_grayscale_array(tmp_path):
  path = tmp_path / 'g.png'
  image_files.save_image(path, np.full((4, 5, 1), 0.5))
  assert image_files.load_image(path).shape == (4, 5, 3)


def test_save_to_unwritable_path_is_an_error(tmp_path):
  blocker = tmp_path / 'file.txt'
  blocker.write_text('x')
  with pytest.raises(ImageError, match='cannot write image'):
    image_files.save_image(blocker / 'x.png', _rgb())


def test_a_failed_write_names_the_output_not_its_temporary(tmp_path):
  """A full disk's write() names no file, and an error about the hidden temporary names
  a path the user never gave: both name the output (files.atomic_path, every writer)."""
  out = tmp_path / 'x.png'
  with pytest.raises(OSError) as raised, files.atomic_path(out):
    raise OSError(28, 'No space left on device')
  assert (raised.value.filename, raised.value.errno) == (str(out), 28)
  with pytest.raises(OSError) as raised, files.atomic_path(out) as tmp:
    raise PermissionError(13, 'Permission denied', tmp)
  assert raised.value.filename == str(out) and isinstance(raised.value, PermissionError)
  with pytest.raises(OSError) as raised, files.atomic_path(out):
    raise FileNotFoundError(2, 'No such file or directory', '/elsewhere/input.png')
  assert raised.value.filename == '/elsewhere/input.png'  # another file's error: as it was
  assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
  'name, array, message',
  [
    ('x.gif', _rgb(), 'unsupported output format'),
    ('x.png', np.full((2, 2, 3), np.nan), 'NaN'),
    ('x.png', np.zeros((2, 2, 2)), 'expected an image of shape'),
    ('x.png', np.zeros((2, 2, 3), np.int64), 'expected float values'),
  ],
)
def test_save_rejects_bad_input(tmp_path, name, array, message):
  with pytest.raises(ImageError, match=message):
    image_files.save_image(tmp_path / name, array)


# --- list_images -------------------------------------------------------------


def _touch(path):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_bytes(b'')
  return str(path)


def test_list_images_recursive_sorted_case_insensitive(tmp_path):
  expected = [
    _touch(tmp_path / name)
    for name in [
      'a.JPG',
      'b.jpeg',
      'c.Png',
      'd.bmp',
      'e.webp',
      'f.tif',
      'g.TIFF',
      'sub/z.png',
      'sub/deeper/y.jpg',
    ]
  ]
  _touch(tmp_path / 'notes.txt')
  _touch(tmp_path / '.hidden.jpg')
  _touch(tmp_path / '.cache' / 'x.jpg')
  assert image_files.list_images(tmp_path) == sorted(expected)
  top_level = image_files.list_images(tmp_path, recursive=False)
  assert top_level == sorted(p for p in expected if 'sub' not in p)


def test_one_walk_finds_the_images_and_what_it_leaves_out(tmp_path):
  images = [_touch(tmp_path / 'a.png'), _touch(tmp_path / 'sub' / 'b.jpg')]
  notes = _touch(tmp_path / 'notes.txt')
  os.mkfifo(tmp_path / 'pipe.png')
  os.symlink('gone.png', tmp_path / 'broken.png')
  os.symlink('loop.png', tmp_path / 'loop.png')
  found, left = image_files.scan_images(tmp_path)
  assert found == sorted(images) == image_files.list_images(tmp_path)
  assert left == [
    (str(tmp_path / 'broken.png'), 'a broken link'),
    (str(tmp_path / 'loop.png'), 'a link loop'),
    (notes, 'not an image'),
    (str(tmp_path / 'pipe.png'), 'not a regular file'),
  ]
  top_found, top_left = image_files.scan_images(tmp_path, recursive=False)
  assert top_found == images[:1] and len(top_left) == 4  # the folder 'sub' is neither


def test_list_images_missing_folder(tmp_path):
  with pytest.raises(ImageError, match=r'nowhere: folder not found'):
    image_files.list_images(tmp_path / 'nowhere')


def test_list_images_without_images(tmp_path):
  _touch(tmp_path / 'readme.txt')
  with pytest.raises(ImageError, match='no image files') as info:
    image_files.list_images(tmp_path)
  assert str(tmp_path) in str(info.value)


# --- geometry helpers --------------------------------------------------------


def test_resize_short_side_and_center_crop():
  image = _rgb(30, 60)
  resized = image_arrays.resize_short_side(image, 10)
  assert resized.shape == (10, 20, 3)
  assert image_arrays.center_crop(resized, 10).shape == (10, 10, 3)
  assert image_arrays.resize_short_side(image, 30) is image
