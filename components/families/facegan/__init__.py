"""Face generation with a privacy gate: a data-efficient GAN on the ORL faces, identity leakage measured."""
