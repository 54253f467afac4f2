"""VAE over speech spectrograms: speech clips from a latent prior, rendered to audio with Griffin-Lim."""
