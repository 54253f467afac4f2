"""CycleGAN: unpaired style translation (Google → Twitter emoji) and back; two graphs."""
