"""The AIGC detector: a CNN trained on real images and a registered generator's snapshots."""
