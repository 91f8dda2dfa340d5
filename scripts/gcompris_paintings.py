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

"""The sample paintings of the web app and the README, rebuilt from Debian's GCompris data.

  apt-get download gcompris-qt-data      # 3.1-2 (bookworm); any machine with Debian's index
  dpkg-deb -x gcompris-qt-data_3.1-2_all.deb gcompris
  python scripts/gcompris_paintings.py gcompris/usr/share/gcompris-qt/rcc/paintings.rcc \\
      zmnet_jax/app/samples

GCompris's "paintings" activity cuts public-domain paintings into puzzle pieces (WebP with
alpha) and places them with a board file each; this reads its Qt resource file (rcc),
puts every board's pieces back together at their places and writes the chosen paintings
at most 512 px, as JPEG. Sources and public-domain status: zmnet_jax/app/samples/SOURCES.md.
"""

from __future__ import annotations

import io
import os
import re
import struct
import sys
import zlib

from PIL import Image

# board -> file name; artists who died by 1919, so public domain everywhere (life + 100).
CHOSEN = {
  'board1': 'renoir_moulin_de_la_galette.jpg',
  'board22': 'van_gogh_village_street_in_auvers.jpg',
  'board7': 'hokusai_great_wave.jpg',
  'board17': 'bruegel_the_harvesters.jpg',
  'board20': 'bazille_ramparts_at_aigues_mortes.jpg',
  'board8': 'hiroshige_inokashira_in_snow.jpg',
}
ENTRY = 22  # bytes of a tree entry in rcc format 2 and 3
SIDE = 512  # the long side the samples are kept at (the quality protocol's scale)


def read_rcc(data: bytes) -> dict[str, bytes]:
  """{path: bytes} of every file in a Qt resource file (zlib-compressed or stored)."""
  if data[:4] != b'qres':
    raise ValueError('not a Qt resource file')
  tree, payload, names = struct.unpack('>III', data[8:20])
  found = {}

  def name(offset: int) -> str:
    (length,) = struct.unpack('>H', data[names + offset : names + offset + 2])
    return data[names + offset + 6 : names + offset + 6 + 2 * length].decode('utf-16-be')

  def walk(index: int, path: str) -> None:
    at = tree + index * ENTRY
    name_offset, flags = struct.unpack('>IH', data[at : at + 6])
    path = f'{path}/{name(name_offset)}' if index else ''
    if flags & 2:  # a folder
      count, first = struct.unpack('>II', data[at + 6 : at + 14])
      for child in range(first, first + count):
        walk(child, path)
      return
    (offset,) = struct.unpack('>I', data[at + 10 : at + 14])
    (size,) = struct.unpack('>I', data[payload + offset : payload + offset + 4])
    blob = data[payload + offset + 4 : payload + offset + 4 + size]
    found[path] = zlib.decompress(blob[4:]) if flags & 1 else blob

  walk(0, '')
  return found


def assemble(board: str, files: dict[str, bytes], folder: str) -> tuple[str, Image.Image]:
  """(the board's title, its painting): every piece pasted centred at its (x, y)."""
  text = files[f'{folder}/board/{board}_0.qml'].decode()
  title = re.search(r'qsTr\("(.*?)"\)', text).group(1)
  width, height = (int(re.search(rf'"{k}": (\d+)', text).group(1)) for k in ('width', 'height'))
  canvas = Image.new('RGBA', (width, height))
  pieces = re.findall(
    r'"pixmapfile" : "(image/[^"]+\.webp)",\s*"x" : "([\d.]+)",\s*"y" : "([\d.]+)"', text
  )
  for piece, x, y in pieces:
    image = Image.open(io.BytesIO(files[f'{folder}/{piece}'])).convert('RGBA')
    left, top = (
      round(float(x) * width - image.width / 2),
      round(float(y) * height - image.height / 2),
    )
    canvas.alpha_composite(image, (left, top))
  return title, canvas.crop(canvas.getbbox()).convert('RGB')


def main(argv: list[str]) -> int:
  rcc, out = argv
  with open(rcc, 'rb') as f:
    files = read_rcc(f.read())
  folder = '/gcompris/src/activities/paintings/resource'
  os.makedirs(out, exist_ok=True)
  for board, name in CHOSEN.items():
    title, painting = assemble(board, files, folder)
    painting.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
    painting.save(os.path.join(out, name), quality=88)
    print(f'{name}: {title}, {painting.width}x{painting.height}')
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
