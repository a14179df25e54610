#ifndef GNNPOOL_READOUT_SET2SET_HPP
#define GNNPOOL_READOUT_SET2SET_HPP

/// \file
/// `Set2SetReadout`: the Set2Set readout (Vinyals et al., "Order Matters", ICLR 2016), PyG's
/// `torch_geometric.nn.aggr.Set2Set(in_channels, processing_steps)`.

#include <gnnpool/core/numeric.hpp>
#include <gnnpool/detail/readout.hpp>
#include <gnnpool/detail/segment_softmax.hpp>
#include <gnnpool/nn/lstm.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// Set2Set readout: T processing steps of an LSTM that attends over every graph's nodes.
///
/// Forward (B graphs, x: N x F; q*_0 = 0 (B x 2F), h_0 = c_0 = 0 (B x F)):
///   for t = 1 .. T:  (h_t, c_t) = LSTMCell(q*_{t-1}, (h_{t-1}, c_{t-1}));  q_t = h_t
///                    e_i = <x_i, q_t[g(i)]>;  a = softmax of e over each graph's nodes
///                    (PyG's softmax: exp(e - max) / (sum + 1e-16), max not differentiated)
///                    r_t[g] = sum_{i in g} a_i x_i;  q*_t = [q_t, r_t]
///   out = q*_T (B x 2F).
/// Backward: through time (t = T .. 1) with dq*_T = dout: dr_t gives dx_i += a_i dr_t[g] and
///   da_i = <x_i, dr_t[g]>; the softmax gives de; de gives dx_i += de_i q_t[g] and
///   dq_t[g] += sum_i de_i x_i; then the LSTM cell's backward (nn/lstm.hpp) with dh_t = dq_t +
///   (the next step's dh), giving dq*_{t-1}, dh_{t-1}, dc_{t-1} and the parameter gradients,
///   summed over the steps.
/// Parameters (PyG's state_dict names under `prefix`): `lstm.weight_ih_l0` [4F, 2F],
/// `lstm.weight_hh_l0` [4F, F], `lstm.bias_ih_l0` and `lstm.bias_hh_l0` [1, 4F].
/// An empty graph attends over nothing: r = 0 for it (its q still evolves). Reads x and offsets
/// only. Cache: per step the LSTM's input, state and gates (B x 7F) and the attention (N).
/// Cost: O(T (B F^2 + N F)) both ways; the LSTM's rows and runs of whole graphs in parallel
/// (the same bits for any number of threads). Thread-safe (const).
/// Errors: `invalid_argument` for in_channels or processing_steps < 1; `shape_error` when x does
/// not have in_channels columns, dout is not B x 2F, or the cache is from another batch.
template <typename Scalar_>
class Set2SetReadout {
 public:
  using Scalar = Scalar_;
  struct Step {
    Matrix<Scalar> input;         ///< q*_{t-1}, B x 2F
    Matrix<Scalar> h, c;          ///< (h_{t-1}, c_{t-1}), B x F
    typename LSTMCell<Scalar>::Cache cell;
    Matrix<Scalar> q;             ///< q_t = h_t, B x F
    Matrix<Scalar> c_out;         ///< c_t
    Vector<Scalar> alpha;         ///< a, N
  };
  struct Cache {
    std::vector<Step> steps;
    Index nodes = -1;
  };

  static constexpr std::string_view layer_name() { return "Set2SetReadout"; }
  /// Reads x and offsets only: the model layer passes no adjacency gradient.
  static constexpr bool reads_adjacency = false;

  Set2SetReadout(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, Index processing_steps)
      : m_name(layer_label(prefix, layer_name())), m_in(checked(in_channels, processing_steps)),
        m_steps(processing_steps), m_lstm(params, join_name(prefix, "lstm"), 2 * in_channels, in_channels, "_l0") {}

  std::string_view name() const { return m_name; }
  void parameter_slots(std::vector<Index>& out) const { m_lstm.parameter_slots(out); }
  Index in_features() const { return m_in; }
  Index out_features() const { return 2 * m_in; }
  Index processing_steps() const { return m_steps; }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Matrix<Scalar>& out, Cache& cache) const {
    detail::check_readout_forward(in, m_in, layer_name());
    const Index b = in.num_graphs(), f = m_in, n = in.x.rows();
    cache.nodes = n;
    cache.steps.resize(static_cast<std::size_t>(m_steps));
    Matrix<Scalar> qstar = Matrix<Scalar>::Zero(b, 2 * f);
    Matrix<Scalar> h = Matrix<Scalar>::Zero(b, f), c = Matrix<Scalar>::Zero(b, f);
    Vector<Scalar> e(n);
    Matrix<Scalar> r;
    for (auto& step : cache.steps) {
      step.input = qstar;
      step.h = h;
      step.c = c;
      m_lstm.forward(params, step.input, step.h, step.c, step.q, step.c_out, step.cell);
      scores(in, step.q, e);
      step.alpha.resize(n);
      detail::segment_softmax(e.data(), step.alpha.data(), in.offsets.data(), b,
                              static_cast<Scalar>(pyg_constants::softmax_denominator_eps));
      detail::segment_weighted_sum<Scalar>(in.x, step.alpha.data(), in.offsets, r);
      qstar.leftCols(f) = step.q;
      qstar.rightCols(f) = r;
      h = step.q;
      c = step.c_out;
    }
    out = qstar;
  }

  /// Assigns *din.x (N x F) when not null, and this readout's slots of dparams.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dout, BatchGradRef<Scalar> din, ParameterSet<Scalar>& dparams) const {
    detail::check_readout_backward(in, m_in, cache.nodes, m_in, dout, out_features(), layer_name());
    GNNPOOL_CHECK(static_cast<Index>(cache.steps.size()) == m_steps, invalid_argument, m_name,
                  " backward: the cache holds ", cache.steps.size(), " steps, the readout makes ", m_steps);
    const Index b = in.num_graphs(), f = m_in, n = in.x.rows();
    for (const Step& step : cache.steps)  // the loops below index these by node and graph
      GNNPOOL_CHECK(step.alpha.size() == n && step.q.rows() == b && step.q.cols() == f && step.input.rows() == b &&
                        step.cell.gates.rows() == b,
                    shape_error, m_name, " backward: the cache's steps are for ", step.alpha.size(), " nodes and ",
                    step.q.rows(), " graphs, the batch has ", n, " and ", b,
                    " (backward needs the cache of the same forward)");
    std::vector<Index> slots;
    m_lstm.parameter_slots(slots);
    for (const Index s : slots) dparams[s].setZero();
    if (din.x) din.x->resize(n, f);  // every row is assigned at the first step below
    Matrix<Scalar> dqstar = dout;
    Matrix<Scalar> dh_next = Matrix<Scalar>::Zero(b, f), dc_next = Matrix<Scalar>::Zero(b, f);
    Matrix<Scalar> dinput, dh_prev, dc_prev;
    Vector<Scalar> dalpha(n);
    for (Index t = m_steps; t-- > 0;) {
      const Step& step = cache.steps[static_cast<std::size_t>(t)];
      const bool last_step = t == m_steps - 1;  // the first one walked: din.x is assigned there
      // r_t = sum_i a_i x_i gives da_i = <dr_t[g], x_i>; the softmax turns da into de.
      const Matrix<Scalar> dr = dqstar.rightCols(f);
      detail::parallel_graph_rows(in.offsets, [&](Index g, Index lo, Index hi) {
        for (Index i = lo; i < hi; ++i) dalpha[i] = dr.row(g).dot(in.x.row(i));
      });
      detail::segment_softmax_backward(step.alpha.data(), dalpha.data(), dalpha.data(), in.offsets.data(), b);
      // e_i = <x_i, q_t[g]> gives dq_t[g] += sum_i de_i x_i; x_i gets a_i dr_t[g] (from r) and
      // de_i q_t[g] (from e), in one pass over the rows. Runs of whole graphs in parallel: graph
      // g writes dq's row g and its own nodes' rows.
      Matrix<Scalar> dq = dqstar.leftCols(f) + dh_next;
      detail::parallel_graphs(in.offsets, [&](Index g_lo, Index g_hi) {
        for (Index g = g_lo; g < g_hi; ++g)
          for (Index i = detail::segment_begin(in.offsets, g); i < detail::segment_end(in.offsets, g); ++i) {
            dq.row(g) += dalpha[i] * in.x.row(i);
            if (!din.x) continue;
            auto dxi = din.x->row(i);
            if (last_step)
              dxi = step.alpha[i] * dr.row(g);
            else
              dxi += step.alpha[i] * dr.row(g);
            dxi += dalpha[i] * step.q.row(g);
          }
      });
      m_lstm.backward(params, step.input, step.h, step.c, step.cell, dq, dc_next, &dinput, &dh_prev, &dc_prev, dparams);
      dqstar.swap(dinput);
      dh_next.swap(dh_prev);
      dc_next.swap(dc_prev);
    }
  }

 private:
  static Index checked(Index in_channels, Index steps) {
    GNNPOOL_CHECK(in_channels >= 1, invalid_argument, "Set2SetReadout: in_channels must be >= 1, got ", in_channels);
    GNNPOOL_CHECK(steps >= 1, invalid_argument, "Set2SetReadout: processing_steps must be >= 1, got ", steps);
    return in_channels;
  }

  /// e_i = <x_i, q[g(i)]>.
  static void scores(const BatchRef<Scalar>& in, const Matrix<Scalar>& q, Vector<Scalar>& e) {
    detail::parallel_graph_rows(in.offsets, [&](Index g, Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) e[i] = in.x.row(i).dot(q.row(g));
    });
  }

  std::string m_name;
  Index m_in, m_steps;
  LSTMCell<Scalar> m_lstm;
};

}  // namespace gnnpool

#endif
