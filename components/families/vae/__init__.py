"""VAE: images from a latent prior, reconstructions and repairs; two graphs (decoder, encoder)."""
