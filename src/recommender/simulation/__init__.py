"""The simulated register, a training device: its process, coefficients and world, the default
register that mixes it with the real one, and the calibration report against the LGA's facts.
Imports the floors below (up to ``model``)."""
