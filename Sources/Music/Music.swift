// Music module.
