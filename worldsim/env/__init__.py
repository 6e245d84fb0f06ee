"""Built-in maze world, exploration policies and the gymnasium adapter."""
