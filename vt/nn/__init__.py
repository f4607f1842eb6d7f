"""torch.nn.Module trees: modules that existed before the call, modules made inside it, hooks and walks."""
