"""Conditional GAN: class-conditional images, scored like DCGAN plus conditional accuracy and per-class FID."""
