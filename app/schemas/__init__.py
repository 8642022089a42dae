"""Request and response models of the public API: plain data, never ORM objects."""
