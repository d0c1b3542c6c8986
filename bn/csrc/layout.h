// Where the value (n, c, s) of an (N, C, *) tensor lies: in planes (N, C, S) or in rows (N, S, C).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace bn {

// A (N, C, *) tensor seen as N samples of C channels of S = prod(*) values each.
struct Layout {
  int64_t batch;
  int64_t channels;
  int64_t spatial;
  bool rows;  // true: channels innermost (channels_last, or S == 1); false: each (n, c) plane contiguous

  // Offset of the first value of sample n, channel c.
  int64_t plane(int64_t n, int64_t c) const { return (n * channels + c) * spatial; }
  // Offset of the first channel of row r = n * S + s (rows layout).
  int64_t row(int64_t r) const { return r * channels; }
};

// The dtype statistics are kept in: float for half, bfloat16 and float (as torch does); double for double.
inline at::ScalarType stat_type(const at::Tensor& input) {
  return input.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// The tensor, contiguous in the format its strides suggest (channels_last stays channels_last).
at::Tensor kernel_format(const at::Tensor& tensor);

// The layout of a tensor returned by kernel_format.
Layout layout_of(const at::Tensor& tensor);

// First sample of each group (virtual batch) and one past the last: {0, n1, n1 + n2, ..., N}.
std::vector<int64_t> group_bounds(const std::vector<int64_t>& group_sizes, int64_t batch);

}  // namespace bn
