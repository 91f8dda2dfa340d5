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

"""Builds what an offline CUDA machine needs to train the release: one small folder.

  python launch/device_bundle.py --out .device_bundle        # then launch/device_train.sh

Into --out: the training data packed small (`content_train.npz`, `style_train.npz`: JPEG
bytes, short side --short-side), the first evaluation images as files (`content_val/`,
`style_val/`), the VGG19 layers the losses need (`vgg19_to_relu4_1.npz`, Caffe weights
from the local cache) and, with --wheels, the Python packages such a machine lacks (for
Python 3.12, x86-64: grain, array-record, portpicker, ml-collections, tensorboardX). The
repository itself (with the shipped model to start from) travels beside it. Fails when the
folder would exceed --max-mib.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from zmnet_jax.data import image_arrays, image_files, packed  # noqa: E402
from zmnet_jax.models import vgg_weights  # noqa: E402

WHEELS = (
  'grain==0.2.18',
  'array_record==0.8.6',
  'portpicker==1.6.0',
  'ml-collections==1.1.0',
  'tensorboardX==2.6.5',
)
PLATFORMS = (
  'manylinux_2_28_x86_64',
  'manylinux_2_24_x86_64',
  'manylinux_2_17_x86_64',
  'manylinux2014_x86_64',
)
VGG_LAYERS = (
  'conv1_1',
  'conv1_2',
  'conv2_1',
  'conv2_2',
  'conv3_1',
  'conv3_2',
  'conv3_3',
  'conv3_4',
  'conv4_1',
)


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--data', default=os.path.join(REPO, '..', 'shared', 'data'))
  p.add_argument('--out', default=os.path.join(REPO, '.device_bundle'))
  # The recipe's sizes (release_cpu): contents resized to 144 px; styles enlarged to 512 px,
  # so they travel at the paintings' own 224 px (packed at 144, they were enlarged 3.6x).
  p.add_argument('--content-short-side', type=int, default=144, help='contents: short side (px)')
  p.add_argument('--style-short-side', type=int, default=224, help='styles: short side (px)')
  p.add_argument('--quality', type=int, default=75, help='JPEG quality')
  # ~11.4 KiB a style at 224 px: 3,500 styles, the contents and VGG fit in 60 MiB.
  p.add_argument('--styles', type=int, default=3500, help='at most N training styles (spread)')
  p.add_argument('--contents', type=int, default=None, help='at most N training contents')
  p.add_argument('--val', type=int, default=8, help='evaluation images of each kind')
  p.add_argument('--val-size', type=int, default=256, help='their short side (px)')
  p.add_argument('--wheels', action='store_true', help='download the missing packages')
  p.add_argument('--max-mib', type=float, default=60.0)
  return p.parse_args(argv)


def copy_val(folder: str, out: str, count: int, size: int) -> None:
  """The first `count` images (what the evaluation reads), short side `size`, as JPEG."""
  os.makedirs(out, exist_ok=True)
  for path in image_files.list_images(folder)[:count]:
    image = image_files.load_image(path)
    if min(image.shape[:2]) > size:
      image = image_arrays.resize_short_side(image, size)
    name = os.path.splitext(os.path.relpath(path, folder).replace(os.sep, '__'))[0] + '.jpg'
    image_files.save_image(os.path.join(out, name), image, quality=90)


def write_vgg(out: str) -> None:
  layers, preprocessing = vgg_weights.load_weights('vgg19', layers=VGG_LAYERS)
  vgg_weights.save_npz(out, layers, preprocessing)


def download_wheels(out: str) -> None:
  platforms = [a for p in PLATFORMS for a in ('--platform', p)]
  subprocess.run(
    [
      sys.executable,
      '-m',
      'pip',
      'download',
      '-q',
      '--no-deps',
      '--only-binary=:all:',
      '--python-version',
      '3.12',
      '--implementation',
      'cp',
      *platforms,
      '-d',
      out,
      *WHEELS,
    ],
    check=True,
  )


def folder_mib(folder: str) -> float:
  return (
    sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs) / 2**20
  )


def main(argv=None) -> int:
  args = parse_args(argv)
  if os.path.exists(args.out):
    shutil.rmtree(args.out)
  os.makedirs(args.out)
  counts = {
    'content_train': packed.pack_folder(
      os.path.join(args.data, 'content', 'train'),
      os.path.join(args.out, 'content_train.npz'),
      args.content_short_side,
      args.quality,
      args.contents,
    ),
    'style_train': packed.pack_folder(
      os.path.join(args.data, 'style', 'train'),
      os.path.join(args.out, 'style_train.npz'),
      args.style_short_side,
      args.quality,
      args.styles,
    ),
  }
  copy_val(
    os.path.join(args.data, 'content', 'val'),
    os.path.join(args.out, 'content_val'),
    args.val,
    args.val_size,
  )
  copy_val(
    os.path.join(args.data, 'style', 'val'),
    os.path.join(args.out, 'style_val'),
    args.val,
    args.val_size,
  )
  write_vgg(os.path.join(args.out, 'vgg19_to_relu4_1.npz'))
  if args.wheels:
    download_wheels(os.path.join(args.out, 'wheels'))
  size = folder_mib(args.out)
  print(f'{args.out}: {counts} images packed, {size:.1f} MiB')
  if size > args.max_mib:
    print(
      f'error: {args.out} is {size:.1f} MiB, over --max-mib {args.max_mib}; pack fewer '
      f'--styles or a smaller --style-short-side',
      file=sys.stderr,
    )
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())
