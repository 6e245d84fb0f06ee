"""The pygame front end: events -> action -> world.step -> draw -> tick, over any `World`."""
