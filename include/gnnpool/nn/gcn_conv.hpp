#ifndef GNNPOOL_NN_GCN_CONV_HPP
#define GNNPOOL_NN_GCN_CONV_HPP

/// \file
/// `GCNConv`: the graph convolution of Kipf & Welling, PyG's `torch_geometric.nn.GCNConv`.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/detail/column_sums.hpp>
#include <gnnpool/detail/propagate.hpp>

#include <gnnpool/core/batch.hpp>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// Options of `GCNConv` (PyG's constructor arguments of the same names; improved = False,
/// cached = False).
struct GCNConvOptions {
  /// Add a self loop of weight 1 to every node that has none (`add_remaining_self_loops`); a
  /// node whose self loop is stored in adj keeps that loop and its weight.
  bool add_self_loops = true;
  /// Symmetric degree normalisation D^-1/2 (A + L) D^-1/2. PyG rejects add_self_loops without
  /// normalize; gnnpool accepts it and propagates with A + L unnormalised.
  bool normalize = true;
  bool bias = true;
};

/// Graph convolution  Y = Â (X W^T) + 1 b^T  on a weighted, possibly directed graph (a
/// `GraphLayer`, core/concepts.hpp: it reads the batch's x and adj).
///
/// Operator. adj(i, j) = w_ji is the weight of the edge j -> i (gnnpool's convention), so row i
/// of adj lists the messages node i receives. With add_self_loops, A' = adj with l_i = 1 put on
/// the diagonal of every node that has no stored diagonal entry (stored loops keep their
/// weight). With normalize:
///
///     deg_i = sum_j A'_ij  (weighted in-degree, loop included),   s_i = deg_i^-1/2  (0 if deg_i = 0)
///     Â_ij  = s_i A'_ij s_j
///
/// otherwise Â = A'. The bias is added after propagation, as in PyG.
///
/// Backward (upstream dY):
///
///     db = 1^T dY,   dH = Â^T dY,   dW = dH^T X,   dX = dH W          (H = X W^T)
///     dadj_e (e = (i, j) stored):  G_ij s_i s_j + dL/d deg_i,   G_ij = <dY_i, H_j>
///     dL/d deg_i = -1/2 s_i^3 (sum_j G_ij A'_ij s_j + sum_k G_ki A'_ki s_k)
///                = -1/2 s_i^2 (sum_j G_ij Â_ij + sum_k G_ki Â_ki)
///
/// The second form is the one evaluated: Â is bounded, where s_i^3 overflows float as soon as
/// deg_i < 1e-26 (a tiny positive edge weight). The gradient itself grows like 1/deg_i; if it
/// still overflows Scalar (deg_i below the smallest normal number), backward throws
/// `invalid_argument` naming the node rather than returning inf.
///
/// where the sums run over the stored entries and the added loops (G_ii = <dY_i, H_i>). Without
/// normalize dadj_e = G_ij. The added loops have the constant weight 1 and no gradient.
///
/// The product is taken in the cheaper order: H = X W^T then Â H when out <= in (PyG's order),
/// Z = Â X then Z W^T when in < out. Backward follows the order forward took, with
/// G_ij = <dZ_i, X_j>, dZ = dY W in the second case.
///
/// Shapes: adj N x N (compressed CSR), X N x in, Y N x out, dadj nnz(adj). Backward skips dX
/// (an O(N in out + E min(in, out)) term) when din.x is null, and dadj when din.adj is null.
/// Parameters: `<prefix>.lin.weight` [out, in] (glorot init, PyG's), `<prefix>.bias` [1, out]
/// (zeros) if `bias`.
/// Cache: the normalised values of adj's stored entries (not with one output channel: there Â h
/// = s ⊙ (A (s ⊙ h)) + diag ⊙ h is applied through s), the added-loop diagonal, s, which
/// loops were added, and H (or Z), built once per forward in O(N + E), reusing adj's index
/// arrays (no copy of adj, no other storage order, nothing allocated per node); and the
/// backward's workspace (N x out or N x in), kept for the next step.
/// Cost: O(N in out + E min(in, out)) forward; backward the same plus O(E min(in, out)) for dadj.
///
/// Errors: `shape_error` when adj is not square, does not have one row per row of x, x does not
/// have `in` columns, or dy is not N x out; `invalid_argument` when adj is not compressed, or
/// (with normalize) a node's weighted in-degree is negative or NaN (deg^-1/2 would be NaN).
template <typename Scalar_>
class GCNConv {
 public:
  using Scalar = Scalar_;

  struct Cache {
    Vector<Scalar> values;  ///< Â on adj's stored entries (CSR order); empty without normalize
                            ///< and with one output channel (then Â is applied through s)
    Vector<Scalar> diag;    ///< Â_ii of the added loops (0 elsewhere); empty without add_self_loops
    Vector<Scalar> added;   ///< 1 where a loop was added, else 0; empty without add_self_loops
    Vector<Scalar> dinv;    ///< deg^-1/2 (0 where deg = 0); empty without normalize
    Matrix<Scalar> h;       ///< X W^T (transform_first) or Â X
    bool transform_first = true;
    /// Backward workspace, dL/d(X W^T) (N x out) or dL/d(Â X) (N x in), reused by the next
    /// call: a training step does not allocate (a fresh N x F matrix costs page faults at
    /// every step).
    mutable Matrix<Scalar> dh;
    /// One output channel: s ⊙ H (forward) or s ⊙ dY (backward), N scalars, reused.
    mutable Matrix<Scalar> scaled;
  };

  GCNConv(ParameterSet<Scalar>& params, std::string_view prefix, Index in, Index out, GCNConvOptions options = {})
      : m_name(layer_label(prefix, "GCNConv")), m_in(in), m_out(out), m_options(options) {
    GNNPOOL_CHECK(in >= 1 && out >= 1, invalid_argument, "GCNConv '", prefix,
                  "': in and out must be >= 1, got ", in, " and ", out);
    m_weight = params.add(join_name(prefix, "lin.weight"), out, in, Init::glorot);
    if (options.bias) m_bias = params.add(join_name(prefix, "bias"), 1, out, Init::zeros);
  }

  /// "prefix (GCNConv)": names the layer in messages.
  std::string_view name() const { return m_name; }
  /// Appends the slots this layer registered (what its backward assigns).
  void parameter_slots(std::vector<Index>& out) const {
    out.push_back(m_weight);
    if (has_bias()) out.push_back(m_bias);
  }
  Index in_features() const { return m_in; }
  Index out_features() const { return m_out; }
  const GCNConvOptions& options() const { return m_options; }
  bool has_bias() const { return m_bias >= 0; }
  /// Slots of the weight and the bias (-1 without bias) in the ParameterSet, for layers that
  /// fuse this convolution with the layer before it (MaxCutSelect's first block).
  Index weight_slot() const { return m_weight; }
  Index bias_slot() const { return m_bias; }

  /// y (N x out) = Â (x W^T) + b on in.adj and in.x; fills cache.
  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Matrix<Scalar>& y, Cache& cache) const {
    const SparseMatrix<Scalar>& adj = in.adj;
    const ConstMatrixRef<Scalar>& x = in.x;
    detail::check_graph_input(m_name, adj, x, m_in);
    build_operator(adj, cache);
    apply(params, adj, operator_values(adj, cache), operator_diag(cache), x, y, cache, /*own_operator=*/true);
  }

  /// y = M (x W^T) + b with a propagation operator M that the caller built on adj's structure in
  /// place of Â: M's values on adj's stored entries (`values`, CSR order, nnz(adj) scalars) and
  /// its diagonal (`diag`: N scalars added as diag_i x_i, or null), used as given (no loops
  /// added, no normalisation). For a layer that propagates with its own operator and keeps this
  /// convolution's weights, product order and cache (MaxCutSelect's P = I - delta L_sym, whose
  /// diagonal then needs no stored entry). cache.h as in `forward`.
  void forward_operator(const ParameterSet<Scalar>& params, const SparseMatrix<Scalar>& adj,
                        const Vector<Scalar>& values, const Vector<Scalar>* diag, const ConstMatrixRef<Scalar>& x,
                        Matrix<Scalar>& y, Cache& cache) const {
    detail::check_graph_input(m_name, adj, x, m_in);
    check_operator(adj, values, diag);
    apply(params, adj, values.data(), diag ? diag->data() : nullptr, x, y, cache, /*own_operator=*/false);
  }

  /// Assigns *din.x (N x in) and *din.adj (nnz(adj)) where not null, and this layer's slots of
  /// dparams, from dy (N x out) and the cache of the forward on the same batch.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dy, BatchGradRef<Scalar> din, ParameterSet<Scalar>& dparams) const {
    const SparseMatrix<Scalar>& adj = in.adj;
    const ConstMatrixRef<Scalar>& x = in.x;
    detail::check_graph_input(m_name, adj, x, m_in);
    GNNPOOL_CHECK(dy.rows() == x.rows() && dy.cols() == m_out, shape_error, m_name, " backward: dy is ",
                  detail::shape(dy.rows(), dy.cols()), ", expected ", detail::shape(x.rows(), m_out));
    GNNPOOL_CHECK(cache.h.rows() == x.rows() && cache.h.cols() == (cache.transform_first ? m_out : m_in) &&
                      (!m_options.normalize || cache.dinv.size() == x.rows()) &&
                      (!m_options.normalize || scaled_operator() || cache.values.size() == adj.nonZeros()) &&
                      (!m_options.add_self_loops || cache.diag.size() == x.rows()),
                  invalid_argument, m_name, " backward: the cache does not come from a forward on this graph");
    unapply(params, adj, operator_values(adj, cache), operator_diag(cache), x, cache, dy, din, dparams,
            /*own_operator=*/true);
  }

  /// The backward of `forward_operator`, with the same values and diag: *din.x and this layer's
  /// slots as in `backward`; *din.adj (nnz(adj)) = dL/dM on adj's stored entries, G_ij (no
  /// normalisation term: M is the caller's).
  void backward_operator(const ParameterSet<Scalar>& params, const SparseMatrix<Scalar>& adj,
                         const Vector<Scalar>& values, const Vector<Scalar>* diag, const ConstMatrixRef<Scalar>& x,
                         const Cache& cache, const ConstMatrixRef<Scalar>& dy, BatchGradRef<Scalar> din,
                         ParameterSet<Scalar>& dparams) const {
    detail::check_graph_input(m_name, adj, x, m_in);
    check_operator(adj, values, diag);
    GNNPOOL_CHECK(dy.rows() == x.rows() && dy.cols() == m_out, shape_error, m_name, " backward: dy is ",
                  detail::shape(dy.rows(), dy.cols()), ", expected ", detail::shape(x.rows(), m_out));
    GNNPOOL_CHECK(cache.h.rows() == x.rows() && cache.h.cols() == (cache.transform_first ? m_out : m_in),
                  invalid_argument, m_name, " backward: the cache does not come from a forward on this graph");
    unapply(params, adj, values.data(), diag ? diag->data() : nullptr, x, cache, dy, din, dparams,
            /*own_operator=*/false);
  }

 private:
  /// A caller-given operator: one value per stored entry of adj, one diagonal entry per node.
  void check_operator(const SparseMatrix<Scalar>& adj, const Vector<Scalar>& values, const Vector<Scalar>* diag) const {
    GNNPOOL_CHECK(values.size() == adj.nonZeros(), shape_error, m_name, ": the operator has ", values.size(),
                  " values for an adjacency of ", adj.nonZeros(), " stored entries");
    GNNPOOL_CHECK(!diag || diag->size() == adj.rows(), shape_error, m_name, ": the operator's diagonal has ",
                  diag ? diag->size() : 0, " entries for ", adj.rows(), " nodes");
  }

  /// y = M (x W^T) + b in the cheaper order (class comment). own_operator: M is this layer's Â
  /// (applied through s with one output channel, `scaled_operator`); otherwise values / diag.
  void apply(const ParameterSet<Scalar>& params, const SparseMatrix<Scalar>& adj, const Scalar* values,
             const Scalar* diag, const ConstMatrixRef<Scalar>& x, Matrix<Scalar>& y, Cache& cache,
             bool own_operator) const {
    const Matrix<Scalar>& w = params[m_weight];
    cache.transform_first = m_out <= m_in;
    // The bias joins the pass that writes y (no separate pass over N x out).
    const Scalar* bias = has_bias() ? params[m_bias].data() : nullptr;
    if (cache.transform_first) {
      detail::assign_product(cache.h, x, w.transpose());
      if (own_operator && scaled_operator())
        apply_scaled(adj, cache, cache.h, y, /*transpose=*/false, bias);
      else
        detail::propagate<Scalar>(adj, values, diag, cache.h, y, bias);
    } else {
      detail::propagate<Scalar>(adj, values, diag, x, cache.h);
      y.resize(x.rows(), m_out);
      detail::affine_rows(cache.h, w.transpose(), bias, y);
    }
  }

  /// The backward of `apply` (class comment); dadj through the normalisation when own_operator.
  void unapply(const ParameterSet<Scalar>& params, const SparseMatrix<Scalar>& adj, const Scalar* values,
               const Scalar* diag, const ConstMatrixRef<Scalar>& x, const Cache& cache,
               const ConstMatrixRef<Scalar>& dy, BatchGradRef<Scalar> din, ParameterSet<Scalar>& dparams,
               bool own_operator) const {
    const Matrix<Scalar>& w = params[m_weight];
    Matrix<Scalar>& dh = cache.dh;
    const auto edges = [&](const ConstMatrixRef<Scalar>& a, const ConstMatrixRef<Scalar>& b) {
      if (own_operator)
        edge_gradients(adj, cache, a, b, *din.adj);
      else
        detail::edge_dots<Scalar>(adj, a, b, *din.adj);
    };
    if (cache.transform_first) {
      if (own_operator && scaled_operator())
        apply_scaled(adj, cache, dy, dh, /*transpose=*/true);
      else
        detail::propagate_transpose<Scalar>(adj, values, diag, dy, dh);
      detail::assign_product_transpose(dparams[m_weight], dh, x);
      if (din.x) detail::assign_product(*din.x, dh, w);
      if (din.adj) edges(dy, cache.h);
    } else {
      detail::assign_product_transpose(dparams[m_weight], dy, cache.h);
      if (din.x || din.adj) {
        detail::assign_product(dh, dy, w);  // dL/d(Â X)
        if (din.x) detail::propagate_transpose<Scalar>(adj, values, diag, dh, *din.x);
        if (din.adj) edges(dh, x);
      }
    }
    if (has_bias()) dparams[m_bias] = detail::column_sums(dy);
  }

  /// One output channel with normalisation (SAG's GCN scorer): Â is never stored. Â h =
  /// s ⊙ (A (s ⊙ h)) + diag ⊙ h costs one scaling of N scalars where the stored Â would cost a pass
  /// writing E values (about 4 % of SAG-GCN's forward+backward at S100k) and E scalars of cache;
  /// its transpose and the edge gradients take s_i a_ij s_j where they read Â_ij. (With several
  /// channels a scaled copy of H would cost N F, more than the E values.)
  bool scaled_operator() const { return m_options.normalize && m_out == 1; }

  /// out = Â in (+ b) for one channel through s (`scaled_operator`), Â or Âᵀ by `transpose`:
  /// the shared propagation of the raw weights A (or Aᵀ) on s ⊙ in, then one row pass
  /// out_i = s_i out_i + diag_i in_i (+ b). O(N + E), rows in parallel.
  void apply_scaled(const SparseMatrix<Scalar>& adj, const Cache& cache, const ConstMatrixRef<Scalar>& in,
                    Matrix<Scalar>& out, bool transpose, const Scalar* bias = nullptr) const {
    const Index n = adj.rows();
    const Scalar* s = cache.dinv.data();
    const Scalar* diag = operator_diag(cache);
    Matrix<Scalar>& scaled = cache.scaled;
    scaled.resize(n, 1);
    detail::parallel_rows(n, [&](Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) scaled(i, 0) = s[i] * in(i, 0);
    }, 16 * detail::row_grain);
    if (transpose)
      detail::propagate_transpose<Scalar>(adj, adj.valuePtr(), nullptr, scaled, out);
    else
      detail::propagate<Scalar>(adj, adj.valuePtr(), nullptr, scaled, out);
    detail::parallel_rows(n, [&](Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) {
        Scalar v = s[i] * out(i, 0);
        if (diag) v += diag[i] * in(i, 0);
        if (bias) v += bias[0];
        out(i, 0) = v;
      }
    }, 16 * detail::row_grain);
  }

  const Scalar* operator_values(const SparseMatrix<Scalar>& adj, const Cache& cache) const {
    return m_options.normalize ? (scaled_operator() ? nullptr : cache.values.data()) : adj.valuePtr();
  }
  const Scalar* operator_diag(const Cache& cache) const {
    return m_options.add_self_loops ? cache.diag.data() : nullptr;
  }

  /// The normalised operator on adj's structure: O(N + E), two passes over the stored entries.
  void build_operator(const SparseMatrix<Scalar>& adj, Cache& cache) const {
    const Index n = adj.rows();
    const StorageIndex* outer = adj.outerIndexPtr();
    const StorageIndex* inner = adj.innerIndexPtr();
    const Scalar* val = adj.valuePtr();
    if (m_options.add_self_loops) {
      cache.added.setZero(n);
      cache.diag.setZero(n);
    } else {
      cache.added.resize(0);
      cache.diag.resize(0);
    }
    if (m_options.normalize) {
      cache.dinv.resize(n);
      cache.values.resize(scaled_operator() ? 0 : adj.nonZeros());
    } else {
      cache.dinv.resize(0);
      cache.values.resize(0);
      // A as given: no degree to compute or check (MaxCut's convolutions on P).
      if (!m_options.add_self_loops) return;
    }
    // Rows in parallel; a negative degree is reported after the loop, for the first such node
    // (the same message for any number of threads).
    const auto degree = [&](Index i, bool& has_loop) {
      Scalar deg(0);
      has_loop = false;
      for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
        deg += val[e];
        if (inner[e] == i) has_loop = true;
      }
      if (m_options.add_self_loops && !has_loop) deg += Scalar(1);
      return deg;
    };
    detail::parallel_rows_checked(n, [&](Index lo, Index hi) {
      bool ok = true;
      for (Index i = lo; i < hi; ++i) {
        bool has_loop = false;
        const Scalar deg = degree(i, has_loop);
        if (m_options.add_self_loops && !has_loop) cache.added[i] = Scalar(1);
        if (m_options.normalize) {
          ok = ok && deg >= Scalar(0);
          cache.dinv[i] = deg > Scalar(0) ? Scalar(1) / std::sqrt(deg) : Scalar(0);
        }
      }
      return ok;
    }, [&](Index from) {
      for (Index i = from; i < n; ++i) {
        bool has_loop = false;
        const Scalar deg = degree(i, has_loop);
        GNNPOOL_CHECK(deg >= Scalar(0), invalid_argument, m_name, ": node ", i, " has weighted in-degree ", deg,
                      " (self loop included); its normalisation deg^-1/2 needs a degree >= 0");
      }
    });
    if (m_options.normalize && !scaled_operator()) {
      const Scalar* s = cache.dinv.data();
      detail::parallel_rows(n, [&](Index lo, Index hi) {
        for (Index i = lo; i < hi; ++i)
          for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) cache.values[e] = s[i] * val[e] * s[inner[e]];
      });
    }
    if (m_options.normalize) {
      if (m_options.add_self_loops) cache.diag = cache.added.cwiseProduct(cache.dinv).cwiseProduct(cache.dinv);
    } else if (m_options.add_self_loops) {
      cache.diag = cache.added;
    }
  }

  /// dadj from G_ij = <a_i, b_j>: the operator's output is Â b and a is its upstream gradient.
  void edge_gradients(const SparseMatrix<Scalar>& adj, const Cache& cache, const ConstMatrixRef<Scalar>& a,
                      const ConstMatrixRef<Scalar>& b, Vector<Scalar>& dadj) const {
    detail::edge_dots<Scalar>(adj, a, b, dadj);  // dadj_e = G_e = dL/dÂ_e
    if (!m_options.normalize) return;
    const Index n = adj.rows();
    const StorageIndex* outer = adj.outerIndexPtr();
    const StorageIndex* inner = adj.innerIndexPtr();
    const Scalar* values = cache.values.data();  // Â on the stored entries (empty: `scaled_operator`)
    const Scalar* val = adj.valuePtr();
    const Scalar* s = cache.dinv.data();
    const bool scaled = scaled_operator();
    // u_i = s_i dL/ds_i = sum of G Â over both ends of every entry (and the added loops), then
    // dL/ddeg_i = -1/2 s_i^2 u_i reaches every entry of row i (deg_i is row i's sum). One pass
    // of `scatter_columns` over the entries sums both ends: the column ends into u, the row ends
    // into u_row through its term (a row lies in one chunk of the scatter, so no two threads
    // write one u_row[i]); then a row-parallel pass. Each sum's order is fixed by the data.
    Vector<Scalar> u = Vector<Scalar>::Zero(n), u_row = Vector<Scalar>::Zero(n);
    detail::scatter_columns(adj, [&](Index i, StorageIndex e) {
      const Scalar ga = dadj[e] * (scaled ? s[i] * val[e] * s[inner[e]] : values[e]);
      u_row[i] += ga;
      return ga;
    }, u.data());
    // The error after the loop, for the first such entry: the same message for any number of threads.
    detail::parallel_rows_checked(n, [&](Index lo, Index hi) {
      bool finite = true;
      for (Index i = lo; i < hi; ++i) {
        Scalar row_sum = u_row[i];
        if (m_options.add_self_loops && cache.added[i] != Scalar(0))
          row_sum += Scalar(2) * a.row(i).dot(b.row(i)) * cache.diag[i];
        const Scalar ddeg = (Scalar(-0.5) * (u[i] + row_sum) * s[i]) * s[i];
        for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) {
          dadj[e] = dadj[e] * (s[i] * s[inner[e]]) + ddeg;
          finite = finite && std::isfinite(dadj[e]);
        }
      }
      return finite;
    }, [&](Index from) {
      for (Index i = from; i < n; ++i)
        for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e)
          GNNPOOL_CHECK(std::isfinite(dadj[e]), invalid_argument, "GCNConv backward: dL/dA of the entry (", i, ", ",
                        inner[e], ") is ", dadj[e], ": node ", i, "'s weighted in-degree (deg^-1/2 = ", s[i],
                        ") is too small for a gradient of order 1/deg to be finite in this precision");
    });
  }

  std::string m_name;
  Index m_in, m_out;
  GCNConvOptions m_options;
  Index m_weight = -1, m_bias = -1;
};

}  // namespace gnnpool

#endif
