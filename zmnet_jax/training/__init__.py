"""Training: the train state and optimizer (`state`), the sharded jitted step and the
loop with checkpoints, samples and evaluation (`trainer`), metrics files (`metrics_writer`).

`python -m zmnet_jax.train` runs the command (`zmnet_jax.cli.train`)."""
