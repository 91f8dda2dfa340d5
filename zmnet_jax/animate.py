"""`python -m zmnet_jax.animate`: the animate command (`zmnet_jax.cli.animate`)."""

import sys

from zmnet_jax.cli.animate import main

if __name__ == '__main__':
  sys.exit(main())
