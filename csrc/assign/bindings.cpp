// Python bindings of the assignment solver: one problem, or a batch spread over threads
// with the GIL released. Inputs are float32 or float64 numpy arrays of any layout; the
// Python wrapper (faceit/assign.py) converts other dtypes and turns status codes into errors.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "assign/lsap.hpp"

namespace py = pybind11;
using faceit::CostView;
using faceit::LsapStatus;
using faceit::LsapWorkspace;

namespace {

template <typename T>
CostView<T> view_of(const py::array& a, int64_t offset_elems, int axis_rows, double sign) {
  const auto item = static_cast<int64_t>(sizeof(T));
  return CostView<T>{static_cast<const T*>(a.data()) + offset_elems,
                     static_cast<int64_t>(a.shape(axis_rows)),
                     static_cast<int64_t>(a.shape(axis_rows + 1)),
                     static_cast<int64_t>(a.strides(axis_rows)) / item,
                     static_cast<int64_t>(a.strides(axis_rows + 1)) / item, sign};
}

// Solves costs[b] for every b; returns (row_ind[B, k], col_ind[B, k], status[B]).
template <typename T>
py::tuple solve_batch_typed(const py::array& costs, bool maximize, int n_threads) {
  const int64_t batch = costs.shape(0);
  const int64_t k = std::min<int64_t>(costs.shape(1), costs.shape(2));
  const int64_t batch_stride = static_cast<int64_t>(costs.strides(0)) / static_cast<int64_t>(sizeof(T));
  py::array_t<int64_t> rows({batch, k});
  py::array_t<int64_t> cols({batch, k});
  py::array_t<int32_t> status(batch);
  int64_t* row_ptr = rows.mutable_data();
  int64_t* col_ptr = cols.mutable_data();
  int32_t* status_ptr = status.mutable_data();
  const double sign = maximize ? -1.0 : 1.0;
  std::vector<CostView<T>> views;
  views.reserve(batch);
  for (int64_t b = 0; b < batch; ++b) views.push_back(view_of<T>(costs, b * batch_stride, 1, sign));

  // An exception in a worker thread (std::bad_alloc for a workspace) must not escape it, or
  // std::terminate ends the interpreter: the first one is kept, the others stop taking
  // problems, and it is raised here once every thread has joined and the GIL is held again.
  std::exception_ptr error;
  {
    py::gil_scoped_release release;
    std::atomic<int64_t> next{0};
    std::mutex error_mutex;
    auto worker = [&]() {
      try {
        LsapWorkspace ws;
        for (int64_t b = next.fetch_add(1); b < batch; b = next.fetch_add(1))
          status_ptr[b] = static_cast<int32_t>(
              faceit::solve_lsap(views[b], ws, row_ptr + b * k, col_ptr + b * k));
      } catch (...) {
        next.store(batch);
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    };
    const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n_threads, batch)));
    if (threads == 1) {
      worker();
    } else {
      std::vector<std::thread> pool;
      try {
        pool.reserve(threads);
        for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
      } catch (...) {  // could not start a thread: the started ones finish the batch
        if (pool.empty()) worker();
      }
      for (auto& th : pool) th.join();
    }
  }
  if (error) std::rethrow_exception(error);
  return py::make_tuple(rows, cols, status);
}

py::tuple solve_batch(const py::array& costs, bool maximize, int n_threads) {
  if (costs.ndim() != 3) throw py::value_error("costs must be a 3-D array [batch, n, m]");
  if (py::isinstance<py::array_t<double>>(costs)) return solve_batch_typed<double>(costs, maximize, n_threads);
  if (py::isinstance<py::array_t<float>>(costs)) return solve_batch_typed<float>(costs, maximize, n_threads);
  throw py::type_error("costs must be float32 or float64");
}

}  // namespace

PYBIND11_MODULE(_assign, m) {
  m.doc() = "C++ rectangular linear sum assignment (JV initialisation + shortest augmenting paths).";
  m.def("solve_batch", &solve_batch, py::arg("costs"), py::arg("maximize"), py::arg("n_threads"),
        "Solve costs[b] for every b. Returns (row_ind[B,k], col_ind[B,k], status[B]); "
        "status 0 ok, 1 NaN or -inf entry, 2 infeasible, 3 finite entry beyond +-1e300.");
  m.attr("STATUS_OK") = static_cast<int>(LsapStatus::ok);
  m.attr("STATUS_INVALID_ENTRY") = static_cast<int>(LsapStatus::invalid_entry);
  m.attr("STATUS_INFEASIBLE") = static_cast<int>(LsapStatus::infeasible);
  m.attr("STATUS_OUT_OF_RANGE") = static_cast<int>(LsapStatus::out_of_range);
}
