"""Face stimuli: a synthetic face world with known generative factors, and image loaders.

    >>> from faceit.stimuli import synthetic_faces
    >>> s = synthetic_faces(1000, seed=0, size=32)
    >>> s.images.shape, s.factor_names[:2]
    ((1000, 32, 32, 3), ['eye_size_left', 'eye_size_right'])
"""

from .container import Stimuli
from .loaders import load_images
from .synthetic import (factor_salience, factor_sweeps, factor_variance, render_faces, synthetic_faces,
                        synthetic_identities)
from .worlds import IDENTITY, VIEW, WORLDS, Factor, World, get_world, hair_colour

__all__ = [
    "Stimuli", "load_images", "synthetic_faces", "synthetic_identities", "render_faces", "factor_sweeps", "factor_salience",
    "factor_variance",
    "WORLDS", "World", "Factor", "get_world", "hair_colour", "IDENTITY", "VIEW",
]
