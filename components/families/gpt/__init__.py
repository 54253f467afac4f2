"""GPT: a self-attention language model, pretrained or fine-tuned from a registered one; or a classifier."""
