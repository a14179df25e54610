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

/// psi(x) = d ln Gamma(x) / dx for x > 0: the recurrence psi(x) = psi(x + 2) - (2x + 1) / (x (x + 1))
/// (two terms per division) up to x >= 10, then the asymptotic series to x^-14 (its first
/// omitted term is below 5e-17 there).
inline double digamma(double x) {
  double result = 0;
  while (x < 10) {
    result -= (2 * x + 1) / (x * (x + 1));
    x += 2;
  }
  const double inv = 1 / x, inv2 = inv * inv;
  result += std::log(x) - 0.5 * inv -
            inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132 -
            inv2 * (691.0 / 32760 - inv2 * (1.0 / 12)))))));
  return result;
}

/// psi'(x) for x > 0: psi'(x) = psi'(x + 2) + 1/x^2 + 1/(x + 1)^2 up to x >= 10, then the
/// asymptotic series to x^-15 (its first omitted term is below 1e-16 there).
inline double trigamma(double x) {
  double result = 0;
  while (x < 10) {
    const double y = x + 1;
    result += (x * x + y * y) / (x * x * y * y);
    x += 2;
  }
  const double inv = 1 / x, inv2 = inv * inv;
  result += inv + 0.5 * inv2 +
            inv * inv2 * (1.0 / 6 - inv2 * (1.0 / 30 - inv2 * (1.0 / 42 - inv2 * (1.0 / 30 - inv2 * (5.0 / 66 -
            inv2 * (691.0 / 2730 - inv2 * (7.0 / 6)))))));
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

/// The continued fraction of `incomplete_beta_fraction` with its logarithmic derivatives
/// dlog_a = d ln K / da and dlog_b = d ln K / db, by forward-mode differentiation of the same
/// Lentz recurrence (every quantity carries its two partial derivatives; the coefficients'
/// derivatives are rational in a, b). Stops when the value and both derivatives have converged.
/// Written for few divisions (three reciprocals of the coefficients' denominators and two per
/// half-step): this runs once per Beta sample in BN-Pool's backward.
inline double incomplete_beta_fraction_derivatives(double a, double b, double x, double& dlog_a, double& dlog_b) {
  constexpr double tiny = 1e-300;
  const double eps = std::numeric_limits<double>::epsilon();
  // Lentz's state: d and 1/c with their derivatives, as (value, d/da, d/db); the fraction is the
  // product of the factors d c, whose log-derivatives add up in (la, lb).
  double d = 0, d_a = 0, d_b = 0;
  double ic = 1, c_a = 0, c_b = 0;  // 1/c, dc/da, dc/db
  double la = 0, lb = 0;
  // One half-step with coefficient (e, e_a, e_b): D = 1 + e d, d = 1/D; C = 1 + e/c, c = C.
  auto step = [&](double e, double e_a, double e_b) {
    double big = 1 + e * d;
    const double big_a = e_a * d + e * d_a, big_b = e_b * d + e * d_b;
    if (std::abs(big) < tiny) big = tiny;
    d = 1 / big;
    d_a = -big_a * d * d;
    d_b = -big_b * d * d;
    double cc = 1 + e * ic;
    const double cc_a = (e_a - e * c_a * ic) * ic, cc_b = (e_b - e * c_b * ic) * ic;
    if (std::abs(cc) < tiny) cc = tiny;
    ic = 1 / cc;
    c_a = cc_a;
    c_b = cc_b;
    la += c_a * ic - big_a * d;  // d ln(d c) = -dD / D + dC / C
    lb += c_b * ic - big_b * d;
    return d * cc;
  };
  // The first denominator D0 = 1 - (a + b) x / (a + 1): h = d = 1 / D0, c = 1.
  const double a1 = 1 / (a + 1);
  const double big0 = 1 - (a + b) * x * a1;
  const double big0_a = x * (b - 1) * a1 * a1, big0_b = -x * a1;
  d = 1 / (std::abs(big0) < tiny ? tiny : big0);
  d_a = -big0_a * d * d;
  d_b = -big0_b * d * d;
  la = -big0_a * d;
  lb = -big0_b * d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    const double ip = 1 / (a + m2 - 1), iq = 1 / (a + m2), iq1 = 1 / (a + m2 + 1);
    // e_2m = m (b - m) x / ((a + 2m - 1)(a + 2m))
    const double even = m * (b - m) * x * ip * iq;
    const double la0 = la, lb0 = lb;
    h *= step(even, -even * (ip + iq), m * x * ip * iq);
    // e_2m+1 = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
    const double odd = -(a + m) * (a + b + m) * x * iq * iq1;
    const double delta = step(odd, -(2 * a + b + m2) * x * iq * iq1 - odd * (iq + iq1), -(a + m) * x * iq * iq1);
    h *= delta;
    if (std::abs(delta - 1) <= eps && std::abs(la - la0) <= eps * std::max(1.0, std::abs(la)) &&
        std::abs(lb - lb0) <= eps * std::max(1.0, std::abs(lb)))
      break;
  }
  dlog_a = la;
  dlog_b = lb;
  return h;
}

/// A starting point for the Beta(a, b) quantile of u: for a, b >= 1 the normal approximation
/// of Abramowitz & Stegun 26.5.22 mapped through the Beta's logit; otherwise the two tails'
/// leading terms, I_x ~ x^a / (a B) near 0 and 1 - I_x ~ (1 - x)^b / (b B) near 1, split where
/// their masses meet (Numerical Recipes' `invbetai` start, from the same formulas).
inline double incomplete_beta_inverse_start(double a, double b, double u) {
  if (a >= 1 && b >= 1) {
    const double pp = u < 0.5 ? u : 1 - u;
    const double t = std::sqrt(-2 * std::log(pp));
    double z = (2.30753 + t * 0.27061) / (1 + t * (0.99229 + t * 0.04481)) - t;
    if (u < 0.5) z = -z;
    const double al = (z * z - 3) / 6;
    const double h = 2 / (1 / (2 * a - 1) + 1 / (2 * b - 1));
    const double w = z * std::sqrt(al + h) / h - (1 / (2 * b - 1) - 1 / (2 * a - 1)) * (al + 5.0 / 6 - 2 / (3 * h));
    return a / (a + b * std::exp(2 * w));
  }
  const double lna = std::log(a / (a + b)), lnb = std::log(b / (a + b));
  const double t = std::exp(a * lna) / a, v = std::exp(b * lnb) / b, w = t + v;
  if (u < t / w) return std::pow(a * w * u, 1 / a);
  return 1 - std::pow(b * w * (1 - u), 1 / b);
}

/// x = I^-1_u(a, b): the Beta(a, b) quantile of u in (0, 1): Halley steps on the CDF from
/// `incomplete_beta_inverse_start`, kept inside a bracket that bisects (geometrically while it
/// spans decades) when a step leaves it. Convergence is cubic, so a step below `last_step` of x
/// is the last (the error after it is of order last_step^3): 1e-7, the default, gives full double
/// precision, 1e-3 is float's (BN-Pool in float: one CDF evaluation fewer in about half the draws). Near x = 1 the residual is
/// (1 - u) - (1 - I_x), without cancellation. ln B(a, b) is computed once, and one exp serves the
/// tail and the density. A quantile below the smallest double is 0 (the sample sits at the
/// boundary, where it has no gradient).
inline double incomplete_beta_inverse(double a, double b, double u, double last_step = 1e-7) {
  if (!(u > 0)) return 0;
  if (!(u < 1)) return 1;
  const double lb = log_beta(a, b);
  double lo = 0, hi = 1;
  double x = incomplete_beta_inverse_start(a, b, u);
  if (!(x > 0 && x < 1)) x = x <= 0 ? std::numeric_limits<double>::min() : 1 - std::numeric_limits<double>::epsilon();
  for (int it = 0; it < 300; ++it) {
    const bool lower = incomplete_beta_lower(a, b, x);
    const double lx = std::log(x), l1x = std::log1p(-x);
    const double pre = std::exp(a * lx + b * l1x - lb);  // x^a (1 - x)^b / B(a, b)
    const double f = lower ? pre * incomplete_beta_fraction(a, b, x) / a - u
                           : (1 - u) - pre * incomplete_beta_fraction(b, a, 1 - x) / b;  // I_x - u
    if (f > 0) hi = x;
    else if (f < 0) lo = x;
    else break;
    const double pdf = pre / (x * (1 - x));
    double next = -1;
    if (pdf > 0 && std::isfinite(pdf)) {
      const double newton = f / pdf;
      const double halley = 1 - 0.5 * newton * ((a - 1) / x - (b - 1) / (1 - x));
      const double step = halley > 0.5 && halley < 2 ? newton / halley : newton;
      // Converged: the step is below the spacing of doubles at x (f is only that exact), so it is
      // taken without testing it against the bracket (a bracket end is x itself by now).
      if (std::abs(step) <= 4 * std::numeric_limits<double>::epsilon() * std::min(x, 1 - x) || x - step == x) {
        x -= step;
        break;
      }
      next = x - step;
      // Halley's error after a step of relative size h is of order h^3: no need to check it.
      if (std::abs(step) <= last_step * std::min(x, 1 - x) && next > lo && next < hi) {
        x = next;
        break;
      }
    }
    if (!(next > lo && next < hi)) next = lo > 0 && hi > 4 * lo ? std::sqrt(lo * hi) : 0.5 * (lo + hi);
    x = next;
    if (hi - lo <= 4 * std::numeric_limits<double>::epsilon() * hi) break;
    if (x <= std::numeric_limits<double>::min()) return 0;
  }
  return x;
}

/// dz/da and dz/db of a Beta(a, b) sample z in (0, 1) held at its quantile (the implicit
/// reparameterisation gradient, dz/da = -(dI_z/da) / pdf(z)). With T the tail of I that does not
/// cancel, dI = +-T d ln T and pdf = T a / (z (1 - z) K) (lower tail; b and 1 - z in the upper),
/// so dz/da = -+(z (1 - z) K / a) d ln T/da: no exponential, no ln B. d ln T/da = ln z - psi(a + 1)
/// + psi(a + b) + d ln K/da in the lower tail (psi(a) + 1/a = psi(a + 1), so small a does not
/// cancel), with K's derivatives exact from `incomplete_beta_fraction_derivatives`.
inline void beta_sample_gradient(double a, double b, double x, double& dz_da, double& dz_db) {
  const double lx = std::log(x), l1x = std::log1p(-x), psi_ab = digamma(a + b);
  double ka = 0, kb = 0;
  if (incomplete_beta_lower(a, b, x)) {
    const double k = incomplete_beta_fraction_derivatives(a, b, x, ka, kb);
    const double ratio = x * (1 - x) * k / a;
    dz_da = -ratio * (lx - digamma(a + 1) + psi_ab + ka);
    dz_db = -ratio * (l1x - digamma(b) + psi_ab + kb);
  } else {
    const double k = incomplete_beta_fraction_derivatives(b, a, 1 - x, kb, ka);
    const double ratio = x * (1 - x) * k / b;
    dz_da = ratio * (lx - digamma(a) + psi_ab + ka);
    dz_db = ratio * (l1x - digamma(b + 1) + psi_ab + kb);
  }
}

/// dI_x(a, b)/da and dI_x(a, b)/db at fixed x in (0, 1): -pdf(x) times `beta_sample_gradient`.
inline void incomplete_beta_parameter_gradient(double a, double b, double x, double& da, double& db) {
  beta_sample_gradient(a, b, x, da, db);
  const double pdf = beta_pdf(a, b, x);
  da *= -pdf;
  db *= -pdf;
}

}  // namespace gnnpool::detail

#endif
