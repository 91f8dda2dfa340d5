"""zmnet_jax: ZM-Net, real-time zero-shot image manipulation, in JAX/Flax."""

__version__ = "0.1.0"
