// Layout detection shared by every kernel.
#include "layout.h"

#include <c10/util/Exception.h>

namespace bn {

namespace {

bool channels_last(const at::Tensor& tensor) {
  if (tensor.dim() == 4) return tensor.is_contiguous(at::MemoryFormat::ChannelsLast);
  if (tensor.dim() == 5) return tensor.is_contiguous(at::MemoryFormat::ChannelsLast3d);
  return false;
}

}  // namespace

at::Tensor kernel_format(const at::Tensor& tensor) {
  if (tensor.is_contiguous() || channels_last(tensor)) return tensor;
  return tensor.contiguous(tensor.suggest_memory_format());
}

Layout layout_of(const at::Tensor& tensor) {
  const int64_t batch = tensor.size(0);
  const int64_t channels = tensor.size(1);
  const int64_t spatial = channels == 0 || batch == 0 ? 1 : tensor.numel() / (batch * channels);
  const bool rows = spatial == 1 || (!tensor.is_contiguous() && channels_last(tensor));
  return Layout{batch, channels, spatial, rows};
}

std::vector<int64_t> group_bounds(const std::vector<int64_t>& group_sizes, int64_t batch) {
  std::vector<int64_t> bounds{0};
  for (const int64_t size : group_sizes) bounds.push_back(bounds.back() + size);
  TORCH_CHECK(bounds.back() == batch, "bn: group sizes add up to ", bounds.back(), ", not the batch size ", batch);
  return bounds;
}

}  // namespace bn
