"""Neural responses: the Responses container, simulated populations with known tuning, loaders, noise ceiling.

    simulate_population(factors, n_neurons=159, tuning="axis", n_trials=10, seed=0) -> Responses
    load_responses(path, ...) -> Responses            (.npz .npy .mat .h5 .hdf5 .csv .nwb)
    noise_ceiling(trials, n_splits=100, seed=0) -> float [N]
"""

from .loaders import load_responses
from .reliability import noise_ceiling, spearman_brown, split_half_correlations
from .responses import Responses
from .simulate import draw_tuning, simulate_population
from .spikes import count_spikes, responses_from_spike_times
from .tuning import TUNING_KINDS, Tuning

__all__ = ["Responses", "Tuning", "TUNING_KINDS", "simulate_population", "draw_tuning", "load_responses",
           "noise_ceiling", "spearman_brown", "split_half_correlations", "count_spikes",
           "responses_from_spike_times"]
