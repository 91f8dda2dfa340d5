"""`python -m zmnet_jax.train`: the training command (`zmnet_jax.cli.train`)."""

import sys

from zmnet_jax.cli.train import main

if __name__ == '__main__':
  sys.exit(main())
