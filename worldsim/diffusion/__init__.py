"""Rectified-flow objective with diffusion forcing, noise-level sampling and the Euler sampler."""
