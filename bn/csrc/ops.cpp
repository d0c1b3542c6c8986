// The bn:: operators torch dispatches to: their schemas, CPU kernels, and training's autograd.
#include "kernels.h"
#include "layout.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/addcmul.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/var_mean.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

namespace bn {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool present(const std::optional<at::Tensor>& tensor) { return tensor.has_value() && tensor->defined(); }

std::vector<int64_t> reduce_dims(const at::Tensor& input) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  return dims;
}

// Shape (1, C, 1, ...) that broadcasts a per-channel vector against `input`.
std::vector<int64_t> channel_view(const at::Tensor& input) {
  std::vector<int64_t> shape(input.dim(), 1);
  shape[1] = input.size(1);
  return shape;
}

// Double backward (create_graph=True): the backward as differentiable ATen ops, the statistics
// recomputed from x inside the graph so that second derivatives see their dependence on x.
std::tuple<at::Tensor, at::Tensor, at::Tensor> differentiable_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight,
    const std::vector<int64_t>& bounds, double eps) {
  const auto dims = reduce_dims(input);
  const auto shape = channel_view(input);
  std::vector<at::Tensor> dxs;
  at::Tensor dweight, dbias;
  for (size_t g = 0; g + 1 < bounds.size(); ++g) {
    const at::Tensor x = input.narrow(0, bounds[g], bounds[g + 1] - bounds[g]).to(stat_type(input));
    const at::Tensor dy = grad_output.narrow(0, bounds[g], bounds[g + 1] - bounds[g]).to(x.scalar_type());
    const int64_t count = x.numel() / std::max<int64_t>(x.size(1), 1);
    if (count == 0) {
      dxs.push_back(dy.to(input.scalar_type()));
      continue;
    }
    const auto [var, mean] = at::var_mean(x, dims, /*correction=*/0, /*keepdim=*/true);
    const at::Tensor invstd = at::rsqrt(var + eps), xmu = x - mean;
    const at::Tensor sum_dy = dy.sum(dims, true), sum_dy_xmu = (dy * xmu).sum(dims, true);
    const at::Tensor k = weight.defined() ? invstd * weight.view(shape) : invstd;
    dxs.push_back((k * dy - xmu * (k * invstd * invstd * sum_dy_xmu / count) - k * sum_dy / count).to(input.scalar_type()));
    const at::Tensor dw = (sum_dy_xmu * invstd).flatten(), db = sum_dy.flatten();
    dweight = dweight.defined() ? dweight + dw : dw;
    dbias = dbias.defined() ? dbias + db : db;
  }
  return {at::cat(dxs), dweight, dbias};
}

// The affine transform actually applied: (weight, bias), or with batch renorm's corrections r and d
// (weight * r, weight * d + bias); without weight, (r, d) themselves.
std::pair<at::Tensor, at::Tensor> effective_affine(const at::Tensor& weight, const at::Tensor& bias,
                                                   const at::Tensor& r, const at::Tensor& d) {
  if (!r.defined()) return {weight, bias};
  if (!weight.defined()) return {r, d};
  const at::Tensor shift = d.to(weight.scalar_type());
  return {weight * r.to(weight.scalar_type()), bias.defined() ? at::addcmul(bias, weight, shift) : weight * shift};
}

// y = normalize(x) with given (G, C) statistics (and optional renorm corrections, (C,) each); backward
// by the closed form, or as ATen ops when a graph of the backward is wanted. The statistics and the
// corrections are constants here.
struct NormalizeFunction : public torch::autograd::Function<NormalizeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const std::optional<at::Tensor>& weight,
                            const std::optional<at::Tensor>& bias, const at::Tensor& mean, const at::Tensor& invstd,
                            const std::optional<at::Tensor>& r, const std::optional<at::Tensor>& d,
                            const std::vector<int64_t>& bounds, double eps) {
    const at::Tensor w = weight.value_or(at::Tensor()), b = bias.value_or(at::Tensor());
    const at::Tensor rs = r.value_or(at::Tensor()), ds = d.value_or(at::Tensor());
    ctx->save_for_backward({input, w, mean, invstd, rs, ds});
    ctx->saved_data["bounds"] = bounds;
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["bias"] = b.defined() ? static_cast<int64_t>(b.scalar_type()) : int64_t{-1};
    const auto [scale, shift] = effective_affine(w, b, rs, ds);
    return normalize(input, scale, shift, mean, invstd, bounds);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &input = saved[0], &weight = saved[1], &r = saved[4], &d = saved[5];
    const auto bounds = ctx->saved_data["bounds"].toIntVector();
    const int64_t bias_type = ctx->saved_data["bias"].toInt();
    // Edges exist only for the tensors given: input, then weight and bias if present.
    const std::array<bool, 3> needed{ctx->needs_input_grad(0), weight.defined() && ctx->needs_input_grad(1),
                                     bias_type >= 0 && ctx->needs_input_grad(weight.defined() ? 2 : 1)};
    const at::Tensor scale = effective_affine(weight, at::Tensor(), r, d).first;
    const bool corrected = r.defined() && weight.defined();
    auto [dx, dscale, dshift] =
        at::GradMode::is_enabled()
            ? differentiable_backward(grads[0], input, scale, bounds, ctx->saved_data["eps"].toDouble())
            : normalize_backward(grads[0], input, scale, saved[2], saved[3], bounds,
                                 {needed[0], needed[1], needed[2] || (corrected && needed[1])});
    at::Tensor dweight = needed[1] && corrected ? dscale * r + dshift * d : dscale;
    if (needed[1] && dweight.scalar_type() != weight.scalar_type()) dweight = dweight.to(weight.scalar_type());
    if (needed[2] && static_cast<int64_t>(dshift.scalar_type()) != bias_type) {
      dshift = dshift.to(static_cast<at::ScalarType>(bias_type));
    }
    return {needed[0] ? dx : at::Tensor(), needed[1] ? dweight : at::Tensor(), needed[2] ? dshift : at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

template <bool kAutograd>
at::Tensor batch_norm_training(const at::Tensor& input, const std::optional<at::Tensor>& weight,
                               const std::optional<at::Tensor>& bias, const std::optional<at::Tensor>& running_mean,
                               const std::optional<at::Tensor>& running_var, c10::IntArrayRef group_sizes,
                               double momentum, double eps) {
  const at::Tensor x = kernel_format(input);
  const auto bounds = group_bounds(group_sizes.vec(), x.size(0));
  const auto [batch_mean, batch_var, invstd] = batch_stats(x, bounds, eps);
  update_running_stats(running_mean, running_var, batch_mean, batch_var, bounds, layout_of(x).spatial, momentum);
  if constexpr (kAutograd) {
    return NormalizeFunction::apply(x, weight, bias, batch_mean, invstd, std::nullopt, std::nullopt, bounds, eps);
  }
  return normalize(x, weight, bias, batch_mean, invstd, bounds);
}

// Batch renormalization: batch norm with the effective affine (weight * r, weight * d + bias).
template <bool kAutograd>
at::Tensor batch_renorm_training(const at::Tensor& input, const std::optional<at::Tensor>& weight,
                                 const std::optional<at::Tensor>& bias, const at::Tensor& running_mean,
                                 const at::Tensor& running_var, double rmax, double dmax, double momentum, double eps) {
  const at::Tensor x = kernel_format(input);
  const std::vector<int64_t> bounds{0, x.size(0)};
  const auto [mean, var, invstd] = batch_stats(x, bounds, eps);
  const auto [r, d] = renorm_corrections(mean, var, running_mean, running_var, rmax, dmax, eps);
  update_running_stats(running_mean, running_var, mean, var, bounds, layout_of(x).spatial, momentum);
  if constexpr (kAutograd) return NormalizeFunction::apply(x, weight, bias, mean, invstd, r, d, bounds, eps);
  const auto [scale, shift] = effective_affine(weight.value_or(at::Tensor()), bias.value_or(at::Tensor()), r, d);
  return normalize(x, scale, shift, mean, invstd, bounds);
}

at::Tensor batch_norm_inference(const at::Tensor& input, const std::optional<at::Tensor>& weight,
                                const std::optional<at::Tensor>& bias, const at::Tensor& running_mean,
                                const at::Tensor& running_var, double eps) {
  return normalize_running(kernel_format(input), weight, bias, running_mean, running_var, eps);
}

std::tuple<at::Tensor, at::Tensor> batch_mean_var(const at::Tensor& input) {
  const at::Tensor x = kernel_format(input);
  const auto [mean, var, invstd] = batch_stats(x, {0, x.size(0)}, 1.0);
  return {mean.view({-1}), var.view({-1})};
}

}  // namespace

TORCH_LIBRARY(bn, m) {
  m.def(
      "batch_norm_training(Tensor input, Tensor? weight, Tensor? bias, Tensor(a!)? running_mean, "
      "Tensor(b!)? running_var, int[] group_sizes, float momentum, float eps) -> Tensor");
  m.def(
      "batch_norm_inference(Tensor input, Tensor? weight, Tensor? bias, Tensor running_mean, Tensor running_var, "
      "float eps) -> Tensor");
  m.def(
      "batch_renorm_training(Tensor input, Tensor? weight, Tensor? bias, Tensor(a!) running_mean, "
      "Tensor(b!) running_var, float rmax, float dmax, float momentum, float eps) -> Tensor");
  m.def("batch_mean_var(Tensor input) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(bn, CPU, m) {
  m.impl("batch_norm_training", &batch_norm_training<false>);
  m.impl("batch_renorm_training", &batch_renorm_training<false>);
  m.impl("batch_norm_inference", &batch_norm_inference);
  m.impl("batch_mean_var", &batch_mean_var);
}

TORCH_LIBRARY_IMPL(bn, Autograd, m) {
  m.impl("batch_norm_training", &batch_norm_training<true>);
  m.impl("batch_renorm_training", &batch_renorm_training<true>);
}

}  // namespace bn
