"""`worldsim train`: config, clip sources, trainer loop, checkpoints, validation, several GPUs."""
