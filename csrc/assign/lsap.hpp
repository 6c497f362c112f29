// Rectangular linear sum assignment: shortest augmenting paths (Crouse 2016, as in
// scipy.optimize.linear_sum_assignment) started from the Jonker-Volgenant initialisation
// (column reduction, reduction transfer, augmenting row reduction) that makes LAPJV fast.
//
// The solver reads the cost matrix in place through a strided view (float32 or float64,
// any layout), so the caller never copies it; duals and path costs are kept in double.
// Only when rows are not contiguous in memory (a transposed problem, a Fortran-ordered
// array) and the matrix is larger than 256 KB does it take a per-thread working copy, so that
// row scans stay cache friendly; smaller ones stay in a core's cache and are read in place.
#pragma once

#include <cstdint>
#include <vector>

namespace faceit {

enum class LsapStatus : int { ok = 0, invalid_entry = 1, infeasible = 2, out_of_range = 3 };

// A read-only view of a cost matrix entry (i, j) = sign * data[i * row_stride + j * col_stride].
// sign = -1 turns a maximisation into a minimisation without touching the data.
template <typename T>
struct CostView {
  const T* data;
  int64_t n_rows;
  int64_t n_cols;
  int64_t row_stride;  // in elements
  int64_t col_stride;  // in elements
  double sign;

  double operator()(int64_t i, int64_t j) const {
    return sign * static_cast<double>(data[i * row_stride + j * col_stride]);
  }
  CostView transposed() const { return {data, n_cols, n_rows, col_stride, row_stride, sign}; }
};

// Scratch memory reused across problems (one per thread in the batched solver).
struct LsapWorkspace {
  std::vector<double> u, v, path_cost, scratch;
  std::vector<int64_t> path, col4row, row4col, remaining, free_rows;
  std::vector<int64_t> scanned_rows, scanned_cols;
  std::vector<char> in_scanned_rows;
  void resize(int64_t n_rows, int64_t n_cols);
};

// Solves one problem of any shape. On success writes k = min(n_rows, n_cols) pairs to
// row_out / col_out, sorted by row. Entries equal to +inf (after the sign) are forbidden
// pairs; NaN and -inf give invalid_entry; a finite entry beyond +-1e300 gives out_of_range; no
// complete finite assignment gives infeasible.
template <typename T>
LsapStatus solve_lsap(const CostView<T>& cost, LsapWorkspace& ws, int64_t* row_out, int64_t* col_out);

}  // namespace faceit
