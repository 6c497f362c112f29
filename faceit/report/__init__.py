"""Figures and reports. Submodules import their plotting libraries lazily, so importing
faceit.report is cheap; see faceit.report.images for image grids (contact sheets, sweeps,
latent traversals)."""
