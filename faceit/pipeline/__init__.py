"""The end-to-end pipeline behind ``faceit demo`` and ``faceit run CONFIG.toml``.

    from faceit.pipeline import load_config, run_pipeline
    report = run_pipeline(load_config("examples/run.toml"), "runs/mine")
"""

from .config import RunConfig, config_from_dict, load_config
from .run import run_pipeline

__all__ = ["RunConfig", "config_from_dict", "load_config", "run_pipeline"]
