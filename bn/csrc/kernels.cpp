// The loops behind kernels.h: channels split across threads, double accumulators, one read per pass.
#include "kernels.h"

#include "layout.h"

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <cmath>

namespace bn {

namespace {

// Values per thread below which starting another thread costs more than it saves (ATen's grain).
constexpr int64_t kGrain = 32768;

// Calls fn(begin, end) on blocks of channels, in parallel when there is enough work per channel.
template <typename F>
void for_channel_blocks(const Layout& layout, const F& fn) {
  const int64_t per_channel = std::max<int64_t>(layout.batch * layout.spatial, 1);
  at::parallel_for(0, layout.channels, std::max<int64_t>(kGrain / per_channel, 1), fn);
}

// A per-channel tensor as a pointer to `type` values, converted only if it has another dtype.
at::Tensor channel_values(const std::optional<at::Tensor>& tensor, at::ScalarType type) {
  if (!tensor.has_value() || !tensor->defined()) return at::Tensor();
  return tensor->scalar_type() == type ? tensor->contiguous() : tensor->to(type).contiguous();
}

template <typename S>
const S* data_or_null(const at::Tensor& tensor) {
  return tensor.defined() ? tensor.const_data_ptr<S>() : nullptr;
}

// (mean, biased variance) from the sums of `count` values minus `shift` and of their squares; zeros
// when empty. Exact enough in double for any offset: the shift is one of the values, and
// |x0 - mean| <= sqrt(count) * std.
std::pair<double, double> moments(double shift, double sum, double squares, int64_t count) {
  if (count == 0) return {0.0, 0.0};
  const double offset = sum / count;
  return {shift + offset, std::max(squares / count - offset * offset, 0.0)};
}

template <typename T, typename S>
void plane_stats(const T* x, const Layout& l, const std::vector<int64_t>& bounds, int64_t c, S* mean, S* var) {
  for (size_t g = 0; g + 1 < bounds.size(); ++g) {
    const int64_t count = (bounds[g + 1] - bounds[g]) * l.spatial;
    const double shift = count > 0 ? static_cast<double>(x[l.plane(bounds[g], c)]) : 0.0;
    double sum = 0, squares = 0;
    for (int64_t n = bounds[g]; n < bounds[g + 1]; ++n) {
      const T* p = x + l.plane(n, c);
#pragma omp simd reduction(+ : sum, squares)
      for (int64_t s = 0; s < l.spatial; ++s) {
        const double d = static_cast<double>(p[s]) - shift;
        sum += d;
        squares += d * d;
      }
    }
    const auto [mu, sigma2] = moments(shift, sum, squares, count);
    mean[g * l.channels + c] = static_cast<S>(mu);
    var[g * l.channels + c] = static_cast<S>(sigma2);
  }
}

template <typename T, typename S>
void row_stats(
    const T* x, const Layout& l, const std::vector<int64_t>& bounds, int64_t c0, int64_t c1, S* mean, S* var) {
  const int64_t width = c1 - c0;
  std::vector<double> shift(width), sum(width), squares(width);
  double* __restrict sh = shift.data();
  double* __restrict s1 = sum.data();
  double* __restrict s2 = squares.data();
  for (size_t g = 0; g + 1 < bounds.size(); ++g) {
    const int64_t r0 = bounds[g] * l.spatial, r1 = bounds[g + 1] * l.spatial;
    for (int64_t j = 0; j < width; ++j) {
      sh[j] = r1 > r0 ? static_cast<double>(x[l.row(r0) + c0 + j]) : 0.0;
      s1[j] = s2[j] = 0.0;
    }
    for (int64_t r = r0; r < r1; ++r) {
      const T* p = x + l.row(r) + c0;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) {
        const double d = static_cast<double>(p[j]) - sh[j];
        s1[j] += d;
        s2[j] += d * d;
      }
    }
    for (int64_t j = 0; j < width; ++j) {
      const auto [mu, sigma2] = moments(sh[j], s1[j], s2[j], r1 - r0);
      mean[g * l.channels + c0 + j] = static_cast<S>(mu);
      var[g * l.channels + c0 + j] = static_cast<S>(sigma2);
    }
  }
}

// Per (group, channel) coefficients of y = x * scale + shift, i.e. (x - mean) * invstd * weight + bias.
template <typename S>
struct Affine {
  const S* mean;
  const S* invstd;
  const S* weight;
  const S* bias;
  int64_t channels;

  S scale(int64_t g, int64_t c) const { return weight ? invstd[g * channels + c] * weight[c] : invstd[g * channels + c]; }
  S shift(int64_t g, int64_t c) const {
    const double beta = bias ? static_cast<double>(bias[c]) : 0.0;
    return static_cast<S>(beta - static_cast<double>(mean[g * channels + c]) * static_cast<double>(scale(g, c)));
  }
};

// y = x * scale + shift over samples [n0, n1), walking memory in order (planes or rows, one after the other).
template <typename T, typename S>
void normalize_samples(const T* x, T* y, const Layout& l, const std::vector<int64_t>& bounds, const S* scale,
                       const S* shift, int64_t n0, int64_t n1) {
  for (size_t g = 0; g + 1 < bounds.size(); ++g) {
    const S* k = scale + g * l.channels;
    const S* b = shift + g * l.channels;
    for (int64_t n = std::max(n0, bounds[g]); n < std::min(n1, bounds[g + 1]); ++n) {
      if (l.rows) {
        for (int64_t r = n * l.spatial; r < (n + 1) * l.spatial; ++r) {
          const T* p = x + l.row(r);
          T* q = y + l.row(r);
#pragma omp simd
          for (int64_t c = 0; c < l.channels; ++c) q[c] = static_cast<T>(static_cast<S>(p[c]) * k[c] + b[c]);
        }
        continue;
      }
      for (int64_t c = 0; c < l.channels; ++c) {
        const T* p = x + l.plane(n, c);
        T* q = y + l.plane(n, c);
        const S kc = k[c], bc = b[c];
#pragma omp simd
        for (int64_t s = 0; s < l.spatial; ++s) q[s] = static_cast<T>(static_cast<S>(p[s]) * kc + bc);
      }
    }
  }
}

// output = input * scale + shift with (G, C) coefficients, samples split across threads.
template <typename T, typename S>
void apply_affine(const at::Tensor& input, at::Tensor& output, const std::vector<int64_t>& bounds, const S* scale,
                  const S* shift) {
  const Layout l = layout_of(input);
  const T* x = input.const_data_ptr<T>();
  T* y = output.mutable_data_ptr<T>();
  const int64_t per_sample = std::max<int64_t>(l.channels * l.spatial, 1);
  at::parallel_for(0, l.batch, std::max<int64_t>(kGrain / per_sample, 1), [&](int64_t n0, int64_t n1) {
    normalize_samples(x, y, l, bounds, scale, shift, n0, n1);
  });
}

// sum(dy) and sum(dy * (x - mean)) of one (group, channel), then dx from them.
struct GradSums {
  double dy = 0, dy_xmu = 0;
};

template <typename S>
struct GradCoefficients {
  S k, proj, shift;  // dx = dy * k + (x - mean) * proj + shift

  static GradCoefficients of(const GradSums& sums, double invstd, double weight, int64_t count) {
    const double k = weight * invstd, per_value = count > 0 ? 1.0 / count : 0.0;
    return {static_cast<S>(k), static_cast<S>(-k * invstd * invstd * sums.dy_xmu * per_value),
            static_cast<S>(-k * sums.dy * per_value)};
  }
};

// What the backward of every layout writes: dx (or null), and per-channel dweight, dbias sums.
template <typename T, typename S>
struct GradOutputs {
  T* dx;
  S* dweight;
  S* dbias;
};

template <typename T, typename S>
void plane_backward(const T* dy, const T* x, const Layout& l, const std::vector<int64_t>& bounds, const Affine<S>& a,
                    const GradOutputs<T, S>& out, int64_t c) {
  double dweight = 0, dbias = 0;
  for (size_t g = 0; g + 1 < bounds.size(); ++g) {
    const S mu = a.mean[g * l.channels + c];
    double sum_dy = 0, sum_dy_xmu = 0;
    for (int64_t n = bounds[g]; n < bounds[g + 1]; ++n) {
      const T *p = x + l.plane(n, c), *d = dy + l.plane(n, c);
#pragma omp simd reduction(+ : sum_dy, sum_dy_xmu)
      for (int64_t s = 0; s < l.spatial; ++s) {
        const double grad = static_cast<double>(d[s]);
        sum_dy += grad;
        sum_dy_xmu += grad * (static_cast<double>(p[s]) - mu);
      }
    }
    const double invstd = a.invstd[g * l.channels + c];
    dweight += sum_dy_xmu * invstd, dbias += sum_dy;
    if (!out.dx) continue;
    const auto co = GradCoefficients<S>::of({sum_dy, sum_dy_xmu}, invstd, a.weight ? a.weight[c] : 1.0,
                                            (bounds[g + 1] - bounds[g]) * l.spatial);
    for (int64_t n = bounds[g]; n < bounds[g + 1]; ++n) {
      const T *p = x + l.plane(n, c), *d = dy + l.plane(n, c);
      T* q = out.dx + l.plane(n, c);
#pragma omp simd
      for (int64_t s = 0; s < l.spatial; ++s) {
        q[s] = static_cast<T>(static_cast<S>(d[s]) * co.k + (static_cast<S>(p[s]) - mu) * co.proj + co.shift);
      }
    }
  }
  if (out.dweight) out.dweight[c] = static_cast<S>(dweight);
  if (out.dbias) out.dbias[c] = static_cast<S>(dbias);
}

template <typename T, typename S>
void row_backward(const T* dy, const T* x, const Layout& l, const std::vector<int64_t>& bounds, const Affine<S>& a,
                  const GradOutputs<T, S>& out, int64_t c0, int64_t c1) {
  const int64_t width = c1 - c0;
  std::vector<double> sums(2 * width), totals(2 * width, 0.0);
  std::vector<S> coefficients(4 * width);
  double* __restrict s_dy = sums.data();
  double* __restrict s_xmu = s_dy + width;
  S* __restrict mu = coefficients.data();
  S* __restrict k = mu + width;
  S* __restrict proj = k + width;
  S* __restrict shift = proj + width;
  for (size_t g = 0; g + 1 < bounds.size(); ++g) {
    const int64_t r0 = bounds[g] * l.spatial, r1 = bounds[g + 1] * l.spatial;
    for (int64_t j = 0; j < width; ++j) mu[j] = a.mean[g * l.channels + c0 + j], s_dy[j] = s_xmu[j] = 0.0;
    for (int64_t r = r0; r < r1; ++r) {
      const T *p = x + l.row(r) + c0, *d = dy + l.row(r) + c0;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) {
        const double grad = static_cast<double>(d[j]);
        s_dy[j] += grad;
        s_xmu[j] += grad * (static_cast<double>(p[j]) - mu[j]);
      }
    }
    for (int64_t j = 0; j < width; ++j) {
      const double invstd = a.invstd[g * l.channels + c0 + j];
      totals[j] += s_xmu[j] * invstd, totals[width + j] += s_dy[j];
      const auto co = GradCoefficients<S>::of({s_dy[j], s_xmu[j]}, invstd, a.weight ? a.weight[c0 + j] : 1.0, r1 - r0);
      k[j] = co.k, proj[j] = co.proj, shift[j] = co.shift;
    }
    if (!out.dx) continue;
    for (int64_t r = r0; r < r1; ++r) {
      const T *p = x + l.row(r) + c0, *d = dy + l.row(r) + c0;
      T* q = out.dx + l.row(r) + c0;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) {
        q[j] = static_cast<T>(static_cast<S>(d[j]) * k[j] + (static_cast<S>(p[j]) - mu[j]) * proj[j] + shift[j]);
      }
    }
  }
  for (int64_t j = 0; j < width; ++j) {
    if (out.dweight) out.dweight[c0 + j] = static_cast<S>(totals[j]);
    if (out.dbias) out.dbias[c0 + j] = static_cast<S>(totals[width + j]);
  }
}

#define BN_DISPATCH(TYPE, NAME, ...) AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, TYPE, NAME, __VA_ARGS__)

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor> batch_stats(
    const at::Tensor& input, const std::vector<int64_t>& bounds, double eps) {
  const Layout l = layout_of(input);
  const auto groups = static_cast<int64_t>(bounds.size()) - 1;
  const auto options = input.options().dtype(stat_type(input));
  at::Tensor mean = at::empty({groups, l.channels}, options), var = at::empty({groups, l.channels}, options);
  at::Tensor invstd = at::empty({groups, l.channels}, options);
  BN_DISPATCH(input.scalar_type(), "bn::batch_stats", [&] {
    using S = at::opmath_type<scalar_t>;
    const scalar_t* x = input.const_data_ptr<scalar_t>();
    S *m = mean.mutable_data_ptr<S>(), *v = var.mutable_data_ptr<S>(), *k = invstd.mutable_data_ptr<S>();
    for_channel_blocks(l, [&](int64_t c0, int64_t c1) {
      if (l.rows) return row_stats(x, l, bounds, c0, c1, m, v);
      for (int64_t c = c0; c < c1; ++c) plane_stats(x, l, bounds, c, m, v);
    });
    for (int64_t i = 0; i < groups * l.channels; ++i) k[i] = static_cast<S>(1.0 / std::sqrt(static_cast<double>(v[i]) + eps));
  });
  return {mean, var, invstd};
}

at::Tensor normalize(const at::Tensor& input, const std::optional<at::Tensor>& weight,
                     const std::optional<at::Tensor>& bias, const at::Tensor& mean, const at::Tensor& invstd,
                     const std::vector<int64_t>& bounds) {
  const auto type = stat_type(input);
  const at::Tensor w = channel_values(weight, type), b = channel_values(bias, type);
  const at::Tensor m = mean.contiguous(), k = invstd.contiguous();
  at::Tensor output = at::empty_like(input);
  BN_DISPATCH(input.scalar_type(), "bn::normalize", [&] {
    using S = at::opmath_type<scalar_t>;
    const Affine<S> a{m.const_data_ptr<S>(), k.const_data_ptr<S>(), data_or_null<S>(w), data_or_null<S>(b), m.size(1)};
    std::vector<S> scale(m.numel()), shift(m.numel());
    for (int64_t g = 0; g < m.size(0); ++g) {
      for (int64_t c = 0; c < m.size(1); ++c) scale[g * m.size(1) + c] = a.scale(g, c), shift[g * m.size(1) + c] = a.shift(g, c);
    }
    apply_affine<scalar_t, S>(input, output, bounds, scale.data(), shift.data());
  });
  return output;
}

at::Tensor normalize_running(const at::Tensor& input, const std::optional<at::Tensor>& weight,
                             const std::optional<at::Tensor>& bias, const at::Tensor& running_mean,
                             const at::Tensor& running_var, double eps) {
  const auto type = stat_type(input);
  const at::Tensor w = channel_values(weight, type), b = channel_values(bias, type);
  const at::Tensor m = channel_values(running_mean, type), v = channel_values(running_var, type);
  at::Tensor output = at::empty_like(input);
  BN_DISPATCH(input.scalar_type(), "bn::normalize_running", [&] {
    using S = at::opmath_type<scalar_t>;
    const S *mean = m.const_data_ptr<S>(), *var = v.const_data_ptr<S>();
    const S *gamma = data_or_null<S>(w), *beta = data_or_null<S>(b);
    std::vector<S> scale(m.numel()), shift(m.numel());
    for (int64_t c = 0; c < m.numel(); ++c) {
      const double k = (gamma ? gamma[c] : 1.0) / std::sqrt(static_cast<double>(var[c]) + eps);
      scale[c] = static_cast<S>(k), shift[c] = static_cast<S>((beta ? beta[c] : 0.0) - mean[c] * k);
    }
    apply_affine<scalar_t, S>(input, output, {0, input.size(0)}, scale.data(), shift.data());
  });
  return output;
}

std::tuple<at::Tensor, at::Tensor> renorm_corrections(const at::Tensor& mean, const at::Tensor& var,
                                                      const at::Tensor& running_mean, const at::Tensor& running_var,
                                                      double rmax, double dmax, double eps) {
  const auto type = mean.scalar_type();
  const at::Tensor m = channel_values(running_mean, type), v = channel_values(running_var, type);
  at::Tensor r = at::empty({mean.numel()}, mean.options()), d = at::empty({mean.numel()}, mean.options());
  AT_DISPATCH_FLOATING_TYPES(type, "bn::renorm_corrections", [&] {
    const scalar_t *batch_mean = mean.const_data_ptr<scalar_t>(), *batch_var = var.const_data_ptr<scalar_t>();
    const scalar_t *running_m = m.const_data_ptr<scalar_t>(), *running_v = v.const_data_ptr<scalar_t>();
    scalar_t *rs = r.mutable_data_ptr<scalar_t>(), *ds = d.mutable_data_ptr<scalar_t>();
    for (int64_t c = 0; c < mean.numel(); ++c) {
      const double sigma = std::sqrt(static_cast<double>(running_v[c]) + eps);
      const double ratio = std::sqrt(static_cast<double>(batch_var[c]) + eps) / sigma;
      rs[c] = static_cast<scalar_t>(std::clamp(ratio, 1.0 / rmax, rmax));
      ds[c] = static_cast<scalar_t>(std::clamp((batch_mean[c] - static_cast<double>(running_m[c])) / sigma, -dmax, dmax));
    }
  });
  return {r, d};
}

void update_running_stats(const std::optional<at::Tensor>& running_mean, const std::optional<at::Tensor>& running_var,
                          const at::Tensor& mean, const at::Tensor& var, const std::vector<int64_t>& bounds,
                          int64_t spatial, double momentum) {
  auto update = [&](const std::optional<at::Tensor>& running, const at::Tensor& batch, bool unbias) {
    if (!running.has_value() || !running->defined()) return;
    TORCH_CHECK(running->is_contiguous(), "bn: running statistics must be contiguous");
    const at::Tensor values = batch.contiguous();
    AT_DISPATCH_FLOATING_TYPES(values.scalar_type(), "bn::update_running_stats", [&] {
      using B = scalar_t;
      const B* stats = values.const_data_ptr<B>();
      BN_DISPATCH(running->scalar_type(), "bn::update_running_stats", [&] {
        scalar_t* r = running->mutable_data_ptr<scalar_t>();
        for (size_t g = 0; g + 1 < bounds.size(); ++g) {
          const int64_t count = (bounds[g + 1] - bounds[g]) * spatial, channels = running->numel();
          if (count == 0) continue;
          const double factor = unbias ? momentum * count / std::max<int64_t>(count - 1, 1) : momentum;
          for (int64_t c = 0; c < channels; ++c) {
            const double batch_value = static_cast<double>(stats[g * channels + c]);
            r[c] = static_cast<scalar_t>(static_cast<double>(r[c]) * (1 - momentum) + batch_value * factor);
          }
        }
      });
    });
  };
  update(running_mean, mean, false);
  update(running_var, var, true);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> normalize_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const std::optional<at::Tensor>& weight,
    const at::Tensor& mean, const at::Tensor& invstd, const std::vector<int64_t>& bounds, std::array<bool, 3> needed) {
  const Layout l = layout_of(input);
  const at::Tensor dy = grad_output.contiguous(input.suggest_memory_format());
  const auto type = stat_type(input);
  const at::Tensor w = channel_values(weight, type), m = mean.contiguous(), k = invstd.contiguous();
  at::Tensor dx = needed[0] ? at::empty_like(input) : at::Tensor();
  at::Tensor dweight = needed[1] ? at::empty({l.channels}, input.options().dtype(type)) : at::Tensor();
  at::Tensor dbias = needed[2] ? at::empty({l.channels}, input.options().dtype(type)) : at::Tensor();
  BN_DISPATCH(input.scalar_type(), "bn::normalize_backward", [&] {
    using S = at::opmath_type<scalar_t>;
    const Affine<S> a{m.const_data_ptr<S>(), k.const_data_ptr<S>(), data_or_null<S>(w), nullptr, l.channels};
    const GradOutputs<scalar_t, S> out{dx.defined() ? dx.mutable_data_ptr<scalar_t>() : nullptr,
                                       dweight.defined() ? dweight.mutable_data_ptr<S>() : nullptr,
                                       dbias.defined() ? dbias.mutable_data_ptr<S>() : nullptr};
    const scalar_t *x = input.const_data_ptr<scalar_t>(), *d = dy.const_data_ptr<scalar_t>();
    for_channel_blocks(l, [&](int64_t c0, int64_t c1) {
      if (l.rows) return row_backward(d, x, l, bounds, a, out, c0, c1);
      for (int64_t c = c0; c < c1; ++c) plane_backward(d, x, l, bounds, a, out, c);
    });
  });
  return {dx, dweight, dbias};
}

}  // namespace bn
