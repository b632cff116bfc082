"""SFT-GANs: SFT layer, condition network, LSFT/GSFT generators, discriminator, training, relevance."""
