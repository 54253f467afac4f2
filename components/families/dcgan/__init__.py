"""DCGAN: an unconditional image generator (Radford et al. 2016), scored by FID/KID, PRDC, memorisation, C2ST."""
