"""Explainable GAN: DCGAN, latent sensitivity, latent directions, FID."""
