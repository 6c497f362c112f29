"""load_responses on small files of every supported format, written here; bad files give DataErrors naming them."""

import subprocess
import sys
from datetime import datetime, timezone

import h5py
import numpy as np
import pytest
import scipy.io
from hypothesis import given, settings
from hypothesis import strategies as st

from faceit.errors import ConfigError, DataError
from faceit.neural import count_spikes, load_responses

S, N, T = 6, 3, 4


@pytest.fixture
def data(rng):
    trials = rng.poisson(8, size=(S, N, T)).astype(float)
    return {"trials": trials, "rates": trials.mean(axis=2), "stimulus_ids": np.array([f"img{i}" for i in range(S)]),
            "neuron_ids": np.array([101, 102, 103])}


def check(resp, data, trials=True):
    np.testing.assert_allclose(resp.rates, data["rates"])
    if trials:
        np.testing.assert_allclose(resp.trials, data["trials"])
    assert resp.stimulus_ids.tolist() == data["stimulus_ids"].tolist()
    assert resp.neuron_ids.tolist() == data["neuron_ids"].tolist()


# --------------------------------------------------------------------------- numpy
def test_npz_named_arrays(data, tmp_path):
    np.savez(tmp_path / "r.npz", **data)
    resp = load_responses(tmp_path / "r.npz")
    check(resp, data)
    assert resp.metadata["source"] == str(tmp_path / "r.npz") and resp.metadata["format"] == "npz"


def test_npz_trials_only_with_missing_repeats(data, tmp_path):
    trials = data["trials"].copy()
    trials[0, :, 2:] = np.nan
    np.savez(tmp_path / "r.npz", trials=trials)
    resp = load_responses(tmp_path / "r.npz")
    np.testing.assert_allclose(resp.rates[0], data["trials"][0, :, :2].mean(axis=1))
    np.testing.assert_allclose(resp.rates[1:], data["rates"][1:])


def test_npz_keys_and_orientation(data, tmp_path):
    np.savez(tmp_path / "r.npz", psth=data["rates"].T, images=data["stimulus_ids"], other=np.ones((2, 2)))
    resp = load_responses(tmp_path / "r.npz", keys={"rates": "psth", "stimulus_ids": "images"},
                          orientation="neurons_stimuli")
    np.testing.assert_allclose(resp.rates, data["rates"])
    assert resp.stimulus_ids.tolist() == data["stimulus_ids"].tolist()


def test_single_unnamed_array(data, tmp_path):
    np.savez(tmp_path / "r.npz", data["rates"])  # stored as arr_0
    np.testing.assert_allclose(load_responses(tmp_path / "r.npz").rates, data["rates"])
    np.save(tmp_path / "t.npy", data["trials"])
    np.testing.assert_allclose(load_responses(tmp_path / "t.npy").trials, data["trials"])


# --------------------------------------------------------------------------- MATLAB
def test_mat_v5(data, tmp_path):
    """MATLAB layout: neurons x stimuli, neurons x stimuli x trials, ids as a cell array and a row vector."""
    scipy.io.savemat(tmp_path / "r.mat", {
        "rates": data["rates"].T, "trials": data["trials"].transpose(1, 0, 2),
        "stimulus_ids": np.array(list(data["stimulus_ids"]), dtype=object),  # a cell array of char
        "neuron_ids": data["neuron_ids"].astype(float)[None, :],  # MATLAB doubles, 1 x N
    })
    check(load_responses(tmp_path / "r.mat", orientation="neurons_stimuli"), data)


def test_mat_v5_struct_fields(data, tmp_path):
    scipy.io.savemat(tmp_path / "r.mat", {"session": {"psth": data["rates"], "info": {"ids": data["neuron_ids"]}}})
    resp = load_responses(tmp_path / "r.mat", keys={"rates": "session/psth", "neuron_ids": "session/info/ids"})
    np.testing.assert_allclose(resp.rates, data["rates"])
    assert resp.neuron_ids.tolist() == data["neuron_ids"].tolist()


def test_mat_v5_char_matrix_ids_are_unpadded(tmp_path):
    scipy.io.savemat(tmp_path / "r.mat", {"rates": np.ones((2, 1)), "stimulus_ids": np.array(["ab", "c"])})
    assert load_responses(tmp_path / "r.mat").stimulus_ids.tolist() == ["ab", "c"]


def write_mat73(path, variables):
    """A MATLAB v7.3 file as MATLAB writes it: HDF5 with a 512-byte header, arrays column-major
    (axes reversed), MATLAB_class attributes, char as uint16 and cell arrays as object references."""
    with h5py.File(path, "w", userblock_size=512) as fh:
        refs = fh.create_group("#refs#")
        for name, value in variables.items():
            if isinstance(value, list):  # cell array of strings, 1 x n
                cell = fh.create_dataset(name, shape=(len(value), 1), dtype=h5py.ref_dtype)
                for i, text in enumerate(value):
                    item = refs.create_dataset(f"{name}_{i}", data=np.array([[ord(c)] for c in text], np.uint16))
                    item.attrs["MATLAB_class"] = np.bytes_("char")
                    cell[i, 0] = item.ref
                cell.attrs["MATLAB_class"] = np.bytes_("cell")
            else:
                ds = fh.create_dataset(name, data=np.asarray(value, dtype=float).T)
                ds.attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM")


def test_mat_v73(data, tmp_path):
    write_mat73(tmp_path / "r.mat", {"rates": data["rates"], "trials": data["trials"],
                                     "stimulus_ids": list(data["stimulus_ids"]),
                                     "neuron_ids": data["neuron_ids"][:, None]})
    with h5py.File(tmp_path / "r.mat", "r") as fh:
        assert fh["trials"].shape == (T, N, S)  # really stored reversed
    check(load_responses(tmp_path / "r.mat"), data)


# --------------------------------------------------------------------------- HDF5 and CSV
def test_hdf5_nested_groups_and_byte_string_ids(data, tmp_path):
    with h5py.File(tmp_path / "r.h5", "w") as fh:
        fh["session1/psth"] = data["rates"]
        fh["session1/trials"] = data["trials"]
        fh["session1/stimulus_ids"] = data["stimulus_ids"].astype("S")
        fh["session1/neuron_ids"] = data["neuron_ids"]
    keys = {field: f"session1/{name}" for field, name in
            [("rates", "psth"), ("trials", "trials"), ("stimulus_ids", "stimulus_ids"), ("neuron_ids", "neuron_ids")]}
    check(load_responses(tmp_path / "r.h5", keys=keys), data)
    with h5py.File(tmp_path / "plain.hdf5", "w") as fh:
        fh["rates"] = data["rates"]
    np.testing.assert_allclose(load_responses(tmp_path / "plain.hdf5").rates, data["rates"])


def write_csv(path, header, rows):
    path.write_text("\n".join(",".join(str(c) for c in row) for row in [header, *rows]) + "\n")


def test_csv_one_row_per_stimulus(data, tmp_path):
    rows = [[sid, *values] for sid, values in zip(data["stimulus_ids"], data["rates"])]
    write_csv(tmp_path / "r.csv", ["stimulus_id", *data["neuron_ids"]], rows)
    check(load_responses(tmp_path / "r.csv"), data, trials=False)


def test_csv_presentations_become_trials(data, tmp_path):
    rows = [[sid, *data["trials"][s, :, t]] for t in range(T) for s, sid in enumerate(data["stimulus_ids"])]
    write_csv(tmp_path / "r.csv", ["stimulus_id", *data["neuron_ids"]], rows)
    check(load_responses(tmp_path / "r.csv", duplicates="trials"), data)
    with pytest.raises(DataError, match=r"r\.csv: stimulus_ids: duplicate ids .* pass duplicates='trials'"):
        load_responses(tmp_path / "r.csv")


# --------------------------------------------------------------------------- NWB
def brute_force_counts(spike_times, onsets, start, stop):
    return np.array([[sum(onset + start <= t < onset + stop for t in unit) for unit in spike_times]
                     for onset in onsets])


def test_count_spikes_window_is_half_open(rng):
    units = [np.array([1.05, 1.30, 1.2, 2.049]), rng.uniform(0, 5, size=200)]
    onsets = np.array([1.0, 2.0, 3.5])
    np.testing.assert_array_equal(count_spikes(units, onsets, (0.05, 0.30)),
                                  brute_force_counts(units, onsets, 0.05, 0.30))
    assert count_spikes(units, onsets)[0, 0] == 2  # 1.05 counts (start), 1.30 does not (stop)


@settings(max_examples=40, deadline=None)
@given(units=st.lists(st.lists(st.floats(0, 10), max_size=30), min_size=1, max_size=4),
       onsets=st.lists(st.floats(0, 10), min_size=1, max_size=8),
       start=st.floats(-0.5, 0.5), length=st.floats(0.01, 1.0))
def test_count_spikes_matches_brute_force(units, onsets, start, length):
    spike_times = [np.array(u) for u in units]
    got = count_spikes(spike_times, np.array(onsets), (start, start + length))
    np.testing.assert_array_equal(got, brute_force_counts(spike_times, onsets, start, start + length))


def write_nwb(path, spike_times, onsets, shown, table="trials", extra_table=False):
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals

    nwb = NWBFile(session_description="test session", identifier="faceit-test",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    for times in spike_times:
        nwb.add_unit(spike_times=times)
    tables = [table] + (["presentations_copy"] if extra_table else [])
    for name in tables:
        if name == "trials":
            nwb.add_trial_column(name="stimulus_id", description="image shown")
            for onset, sid in zip(onsets, shown):
                nwb.add_trial(start_time=onset, stop_time=onset + 0.4, stimulus_id=sid)
        else:
            intervals = TimeIntervals(name=name, description="stimulus presentations")
            intervals.add_column(name="stimulus_id", description="image shown")
            for onset, sid in zip(onsets, shown):
                intervals.add_interval(start_time=onset, stop_time=onset + 0.4, stimulus_id=sid)
            nwb.add_time_intervals(intervals)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


@pytest.fixture
def session(rng):
    onsets = np.arange(12) * 0.5 + 0.2
    shown = np.array([3, 1, 2, 1, 3, 2, 2, 1, 3, 1, 2, 3])  # 3 stimuli x 4 repeats
    spike_times = [np.sort(rng.uniform(0, 7, size=n)) for n in (40, 150, 5)]
    return spike_times, onsets, shown


def test_nwb_spike_counts_per_stimulus(session, tmp_path):
    spike_times, onsets, shown = session
    write_nwb(tmp_path / "s.nwb", spike_times, onsets, shown)
    resp = load_responses(tmp_path / "s.nwb")
    counts = brute_force_counts(spike_times, onsets, 0.05, 0.30) / 0.25  # spikes/s per presentation
    assert resp.stimulus_ids.tolist() == [3, 1, 2]  # order of first presentation
    assert resp.neuron_ids.tolist() == [0, 1, 2] and resp.n_trials == 4
    for i, sid in enumerate([3, 1, 2]):
        np.testing.assert_allclose(resp.trials[i].T, counts[shown == sid])
        np.testing.assert_allclose(resp.rates[i], counts[shown == sid].mean(axis=0))
    assert resp.metadata["window_s"] == [0.05, 0.30] and resp.metadata["units"] == "spikes/s"
    assert resp.metadata["presentations"] == "trials"


def test_nwb_named_table_and_window(session, tmp_path):
    spike_times, onsets, shown = session
    write_nwb(tmp_path / "s.nwb", spike_times, onsets, shown, table="presentations", extra_table=True)
    with pytest.raises(DataError, match=r"s\.nwb: several intervals tables"):
        load_responses(tmp_path / "s.nwb")
    resp = load_responses(tmp_path / "s.nwb", presentations="presentations", window=(0.0, 0.1))
    counts = brute_force_counts(spike_times, onsets, 0.0, 0.1) / 0.1
    np.testing.assert_allclose(resp.rates[0], counts[shown == 3].mean(axis=0))
    with pytest.raises(DataError, match="no intervals table 'stimuli'"):
        load_responses(tmp_path / "s.nwb", presentations="stimuli")


def test_nwb_without_a_stimulus_column(session, tmp_path):
    spike_times, onsets, shown = session
    write_nwb(tmp_path / "s.nwb", spike_times, onsets, shown)
    with pytest.raises(DataError, match="with a 'image_id' column"):
        load_responses(tmp_path / "s.nwb", stimulus_column="image_id")


def test_pynwb_is_imported_only_for_nwb_files():
    code = ("import sys, faceit.neural as neural; neural.load_responses, neural.simulate_population; "
            "assert 'pynwb' not in sys.modules, 'pynwb imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- bad input
def test_nan_in_responses_names_file_and_place(tmp_path):
    rates = np.ones((3, 2))
    rates[1, 0] = np.nan
    np.savez(tmp_path / "r.npz", rates=rates)
    with pytest.raises(DataError, match=r"r\.npz: rates: contains nan at index \(1, 0\)"):
        load_responses(tmp_path / "r.npz")
    write_csv(tmp_path / "r.csv", ["stimulus_id", "a"], [[1, 2.0], [2, "inf"]])
    with pytest.raises(DataError, match=r"r\.csv: rates: contains inf"):
        load_responses(tmp_path / "r.csv")


def test_bad_csv_cells(tmp_path):
    write_csv(tmp_path / "r.csv", ["stimulus_id", "a", "b"], [[1, 2.0, 3.0], [2, "", 1.0]])
    with pytest.raises(DataError, match=r"r\.csv: line 3, column 'a': '' is not a number"):
        load_responses(tmp_path / "r.csv")
    write_csv(tmp_path / "r.csv", ["stimulus_id", "a", "b"], [[1, 2.0, 3.0], [2, 1.0]])
    with pytest.raises(DataError, match="line 3 has 2 cells but the header has 3"):
        load_responses(tmp_path / "r.csv")
    write_csv(tmp_path / "r.csv", ["stimulus_id", "a"], [])
    with pytest.raises(DataError, match="at least one row"):
        load_responses(tmp_path / "r.csv")


def test_mismatched_and_duplicate_ids(tmp_path):
    np.savez(tmp_path / "r.npz", rates=np.ones((3, 2)), stimulus_ids=np.arange(4))
    with pytest.raises(DataError, match=r"r\.npz: stimulus_ids: has 4 ids but the data have 3"):
        load_responses(tmp_path / "r.npz")
    np.savez(tmp_path / "d.npz", rates=np.ones((3, 2)), neuron_ids=np.array(["u1", "u1"]))
    with pytest.raises(DataError, match=r"d\.npz: neuron_ids: duplicate ids \['u1'\]"):
        load_responses(tmp_path / "d.npz")
    np.savez(tmp_path / "t.npz", rates=np.ones((3, 2)), trials=np.ones((3, 3, 2)))
    with pytest.raises(DataError, match=r"t\.npz: trials has shape"):
        load_responses(tmp_path / "t.npz")


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".mat", ".h5", ".csv", ".nwb"])
def test_empty_file(tmp_path, suffix):
    (tmp_path / f"r{suffix}").write_bytes(b"")
    with pytest.raises(DataError, match=r"r\%s: the file is empty" % suffix):
        load_responses(tmp_path / f"r{suffix}")


def test_empty_array(tmp_path):
    np.savez(tmp_path / "r.npz", rates=np.zeros((0, 4)))
    with pytest.raises(DataError, match=r"r\.npz: rates is empty"):
        load_responses(tmp_path / "r.npz")


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".mat", ".h5", ".nwb"])
def test_corrupt_file(tmp_path, suffix, data):
    good = tmp_path / "good.npz"
    np.savez(good, **data)
    blob = good.read_bytes()
    (tmp_path / f"r{suffix}").write_bytes(blob[: len(blob) // 2] if suffix == ".npz" else b"\x93garbage" * 50)
    with pytest.raises(DataError, match=r"r\%s: cannot be read" % suffix):
        load_responses(tmp_path / f"r{suffix}")


@pytest.mark.parametrize("arrays, match", [
    ({"rates": np.ones(5)}, r"rates has shape \(5,\); expected a 2-D array \[stimuli, neurons\]"),
    ({"trials": np.ones((3, 2))}, r"trials has shape \(3, 2\); expected a 3-D array"),
    ({"x": np.ones((2, 2, 2, 2))}, "has no array named 'rates' or 'trials' and no other 2-D or 3-D"),
    ({"a": np.ones((3, 2)), "b": np.ones((3, 2))}, "2 candidate arrays"),
    ({"rates": np.array(["a", "b"]).reshape(1, 2)}, "expected numbers"),
])
def test_wrong_shapes_and_contents(tmp_path, arrays, match):
    np.savez(tmp_path / "r.npz", **arrays)
    with pytest.raises(DataError, match=r"r\.npz: .*" + match):
        load_responses(tmp_path / "r.npz")


def test_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "r.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"r\.xlsx: unknown extension '\.xlsx'"):
        load_responses(tmp_path / "r.xlsx")
    with pytest.raises(DataError, match="no such file"):
        load_responses(tmp_path / "missing.npz")
    np.savez(tmp_path / "r.npz", rates=np.ones((2, 2)))
    with pytest.raises(DataError, match="no array named 'psth'"):
        load_responses(tmp_path / "r.npz", keys={"rates": "psth"})


def test_options_that_do_not_apply(tmp_path):
    np.savez(tmp_path / "r.npz", rates=np.ones((2, 2)))
    with pytest.raises(ConfigError, match="NWB files only"):
        load_responses(tmp_path / "r.npz", window=(0.0, 0.2))
    with pytest.raises(ConfigError, match="orientation"):
        load_responses(tmp_path / "r.npz", orientation="columns")
    with pytest.raises(ConfigError, match="keys"):
        load_responses(tmp_path / "r.npz", keys={"rate": "x"})
    with pytest.raises(ConfigError, match="do not apply to NWB"):
        load_responses(tmp_path / "r.nwb", keys={"rates": "x"})
    with pytest.raises(ConfigError, match="window"):
        load_responses(tmp_path / "r.nwb", window=(0.3, 0.1))


def test_mat_vectors_and_scalars_beside_the_matrix_are_not_candidates(data, tmp_path):
    """MATLAB stores every vector and scalar as 2-D: the one real matrix is the responses."""
    ids = np.arange(1, data["rates"].shape[0] + 1)
    scipy.io.savemat(tmp_path / "r.mat", {"psth": data["rates"], "bin_ms": 10.0, "stimulus_ids": ids.astype(float)})
    resp = load_responses(tmp_path / "r.mat")
    np.testing.assert_allclose(resp.rates, data["rates"])
    assert resp.stimulus_ids.tolist() == ids.tolist()


def test_ids_that_fit_the_other_axis_suggest_the_orientation(data, tmp_path):
    np.savez(tmp_path / "r.npz", rates=data["rates"].T, stimulus_ids=data["stimulus_ids"])
    with pytest.raises(DataError, match="orientation='neurons_stimuli'"):
        load_responses(tmp_path / "r.npz")
    resp = load_responses(tmp_path / "r.npz", orientation="neurons_stimuli")
    np.testing.assert_allclose(resp.rates, data["rates"])
