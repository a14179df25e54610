#ifndef GNNPOOL_DETAIL_SPECIAL_HPP
#define GNNPOOL_DETAIL_SPECIAL_HPP

/// \file
/// Special functions of the Beta distribution for BN-Pool (not part of the API): digamma,
/// trigamma, the regularised incomplete beta function I_x(a, b), its inverse and its derivatives
/// with respect to a and b (the implicit reparameterisation gradient of a Beta sample).

#include <algorithm>
#include <cmath>
#include <limits>

namespace gnnpool::detail {

/// psi(x) = d ln Gamma(x) / dx for x > 0: the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 20,
/// then the asymptotic series (its first omitted term is below 1e-17 there).
inline double digamma(double x) {
  double result = 0;
  while (x < 20) {
    result -= 1 / x;
    x += 1;
  }
  const double inv = 1 / x, inv2 = inv * inv;
  result += std::log(x) - 0.5 * inv -
            inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132)))));
  return result;
}

/// psi'(x) for x > 0: psi'(x) = psi'(x + 1) + 1/x^2 up to x >= 20, then the asymptotic series.
inline double trigamma(double x) {
  double result = 0;
  while (x < 20) {
    result += 1 / (x * x);
    x += 1;
  }
  const double inv = 1 / x, inv2 = inv * inv;
  result += inv + 0.5 * inv2 +
            inv * inv2 * (1.0 / 6 - inv2 * (1.0 / 30 - inv2 * (1.0 / 42 - inv2 * (1.0 / 30 - inv2 * (5.0 / 66)))));
  return result;
}

/// ln Gamma(x) for x > 0 by Stirling's series after shifting x to at least 10 (ln Gamma(x) =
/// ln Gamma(x + n) - ln(x (x + 1) ... (x + n - 1))); the truncation error at x >= 10 is below
/// 1e-16. The fallback of `log_gamma` where no reentrant lgamma exists.
inline double log_gamma_stirling(double x) {
  double shift = 0;
  while (x < 10) {
    shift += std::log(x);
    x += 1;
  }
  const double inv = 1 / x, inv2 = inv * inv;
  const double series =
      inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 * (1.0 / 1680 - inv2 * (1.0 / 1188 -
             inv2 * (691.0 / 360360 - inv2 * (1.0 / 156)))))));
  return (x - 0.5) * std::log(x) - x + 0.91893853320467274178 + series - shift;  // 0.9189... = ln(2 pi) / 2
}

/// ln Gamma(x) for x > 0. Not std::lgamma: it writes the global `signgam`, a data race when
/// layers run on several threads (found by the ThreadSanitizer test with BN-Pool); glibc's
/// reentrant lgamma_r gives the same values without it.
inline double log_gamma(double x) {
#if defined(__GLIBC__)
  int sign = 0;
  return ::lgamma_r(x, &sign);
#else
  return log_gamma_stirling(x);
#endif
}

/// ln B(a, b) = ln Gamma(a) + ln Gamma(b) - ln Gamma(a + b).
inline double log_beta(double a, double b) { return log_gamma(a) + log_gamma(b) - log_gamma(a + b); }

/// The continued fraction of I_x(a, b) (modified Lentz), valid for x < (a + 1) / (a + b + 2).
inline double incomplete_beta_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300;
  const double eps = std::numeric_limits<double>::epsilon();
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::abs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1) <= eps) break;
  }
  return h;
}

/// The smaller tail of the Beta(a, b) distribution at x: I_x(a, b) when `lower` (x below the
/// mean region), 1 - I_x(a, b) = I_{1-x}(b, a) otherwise, each computed without cancellation.
/// `lb` = ln B(a, b), which callers that vary x only (the quantile search) compute once.
inline double incomplete_beta_tail(double a, double b, double x, bool lower, double lb) {
  if (lower) {
    if (x <= 0) return 0;
    return std::exp(a * std::log(x) + b * std::log1p(-x) - lb) * incomplete_beta_fraction(a, b, x) / a;
  }
  if (x >= 1) return 0;
  const double y = 1 - x;
  return std::exp(b * std::log(y) + a * std::log(x) - lb) * incomplete_beta_fraction(b, a, y) / b;
}

inline double incomplete_beta_tail(double a, double b, double x, bool lower) {
  return incomplete_beta_tail(a, b, x, lower, log_beta(a, b));
}

/// Whether I_x(a, b) is evaluated directly (true) or through its complement.
inline bool incomplete_beta_lower(double a, double b, double x) { return x < (a + 1) / (a + b + 2); }

/// I_x(a, b), the Beta(a, b) CDF at x in [0, 1]; `lb` = ln B(a, b).
inline double incomplete_beta(double a, double b, double x, double lb) {
  const bool lower = incomplete_beta_lower(a, b, x);
  const double t = incomplete_beta_tail(a, b, x, lower, lb);
  return lower ? t : 1 - t;
}

inline double incomplete_beta(double a, double b, double x) { return incomplete_beta(a, b, x, log_beta(a, b)); }

/// The Beta(a, b) density at x in (0, 1); `lb` = ln B(a, b).
inline double beta_pdf(double a, double b, double x, double lb) {
  return std::exp((a - 1) * std::log(x) + (b - 1) * std::log1p(-x) - lb);
}

inline double beta_pdf(double a, double b, double x) { return beta_pdf(a, b, x, log_beta(a, b)); }

/// x = I^-1_u(a, b): the Beta(a, b) quantile of u in (0, 1) (bisection safeguarding Newton steps
/// on the CDF, to full double precision). ln B(a, b) is computed once, not per step: the three
/// ln Gamma per evaluation were half of BN-Pool's sampling time.
inline double incomplete_beta_inverse(double a, double b, double u) {
  const double lb = log_beta(a, b);
  double lo = 0, hi = 1, x = a / (a + b);
  for (int it = 0; it < 200; ++it) {
    const double f = incomplete_beta(a, b, x, lb) - u;
    if (f > 0) hi = x;
    else lo = x;
    const double p = beta_pdf(a, b, x, lb);
    double next = p > 0 ? x - f / p : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (std::abs(next - x) <= 4 * std::numeric_limits<double>::epsilon() * std::max(x, 1e-300) || hi - lo <= 1e-300) {
      x = next;
      break;
    }
    x = next;
  }
  return x;
}

/// dI_x(a, b)/da and dI_x(a, b)/db at fixed x, by Richardson extrapolation of central
/// differences of the tail that does not cancel (relative error about 1e-10).
inline void incomplete_beta_parameter_gradient(double a, double b, double x, double& da, double& db) {
  const bool lower = incomplete_beta_lower(a, b, x);
  const double sign = lower ? 1.0 : -1.0;
  auto tail = [&](double aa, double bb) { return incomplete_beta_tail(aa, bb, x, lower); };
  auto derivative = [&](auto&& f, double v) {
    const double h = 1e-3 * std::max(v, 1e-3);
    auto central = [&](double step) { return (f(v + step) - f(v - step)) / (2 * step); };
    return (4 * central(h / 2) - central(h)) / 3;
  };
  da = sign * derivative([&](double v) { return tail(v, b); }, a);
  db = sign * derivative([&](double v) { return tail(a, v); }, b);
}

}  // namespace gnnpool::detail

#endif
