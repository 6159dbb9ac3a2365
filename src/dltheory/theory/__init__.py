"""Closed-form predictions (numpy/scipy only, never torch), one module per result."""
