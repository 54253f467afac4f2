"""Sentence VAE (Bowman et al. 2016) on People's Daily: sentences from a latent space, interpolations between them."""
