"""The encoder family: a bidirectional character encoder pretrained self-correcting, then fine-tuned to tag
entities or to classify."""
