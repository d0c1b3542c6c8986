// bn's CPU kernels: batch statistics, normalization and the closed-form backward, one pass each.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <optional>
#include <tuple>
#include <vector>

namespace bn {

// Per-group, per-channel mean, biased variance and 1 / sqrt(var + eps), each (G, C), of an input in
// kernel format, in the statistics dtype (float for half, bfloat16 and float; double for double).
std::tuple<at::Tensor, at::Tensor, at::Tensor> batch_stats(
    const at::Tensor& input, const std::vector<int64_t>& bounds, double eps);

// y = (x - mean[g, c]) * invstd[g, c] * weight[c] + bias[c] for every value of group g, channel c,
// computed as x * scale + shift (as torch does).
at::Tensor normalize(
    const at::Tensor& input,
    const std::optional<at::Tensor>& weight,
    const std::optional<at::Tensor>& bias,
    const at::Tensor& mean,
    const at::Tensor& invstd,
    const std::vector<int64_t>& bounds);

// y = (x - running_mean[c]) / sqrt(running_var[c] + eps) * weight[c] + bias[c], as x * scale + shift.
at::Tensor normalize_running(
    const at::Tensor& input,
    const std::optional<at::Tensor>& weight,
    const std::optional<at::Tensor>& bias,
    const at::Tensor& running_mean,
    const at::Tensor& running_var,
    double eps);

// Batch renormalization's (1, C) corrections r = clip(sigma_B / sigma, 1/rmax, rmax) and
// d = clip((mean_B - mean) / sigma, -dmax, dmax), sigma from the running variance, before its update.
std::tuple<at::Tensor, at::Tensor> renorm_corrections(
    const at::Tensor& mean,
    const at::Tensor& var,
    const at::Tensor& running_mean,
    const at::Tensor& running_var,
    double rmax,
    double dmax,
    double eps);

// running = (1 - momentum) * running + momentum * batch, once per non-empty group in order, the
// variance unbiased by the group's count of values per channel.
void update_running_stats(
    const std::optional<at::Tensor>& running_mean,
    const std::optional<at::Tensor>& running_var,
    const at::Tensor& mean,
    const at::Tensor& var,
    const std::vector<int64_t>& bounds,
    int64_t spatial,
    double momentum);

// (dx, dweight, dbias) of normalize() with batch statistics, Ioffe & Szegedy's closed form, the
// parameter grads in the statistics dtype;
// an entry is undefined where `needed` says it is not wanted.
std::tuple<at::Tensor, at::Tensor, at::Tensor> normalize_backward(
    const at::Tensor& grad_output,
    const at::Tensor& input,
    const std::optional<at::Tensor>& weight,
    const at::Tensor& mean,
    const at::Tensor& invstd,
    const std::vector<int64_t>& bounds,
    std::array<bool, 3> needed);

}  // namespace bn
