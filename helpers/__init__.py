"""Helpers for the CCD Handbook.

One module per concept: ``data`` (the synthetic observatory), ``io`` (FITS frames and region files),
``reduce`` (combining and calibrating), ``plot`` (showing frames) and ``widgets`` (sliders).
Each notebook imports the one or two modules it teaches.
"""
__version__ = "0.1.0"
