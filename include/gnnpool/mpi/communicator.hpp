#ifndef GNNPOOL_MPI_COMMUNICATOR_HPP
#define GNNPOOL_MPI_COMMUNICATOR_HPP

/// \file
/// The MPI part of gnnpool (optional: CMake `GNNPOOL_WITH_MPI`, target `gnnpool::mpi`; never
/// included by gnnpool/gnnpool.hpp). `Environment` starts and stops MPI, `Communicator` wraps
/// an MPI communicator with the operations data-parallel training needs: the sum of a gradient
/// object over the ranks in ONE all-reduce of one contiguous buffer, the broadcast of the
/// parameters from rank 0, reductions of metrics, agreement checks that end every rank with the
/// same `collective_error`, and byte gathers. `run` ends the whole job on any other error.
/// docs/distributed.md is the guide.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/types.hpp>
#include <gnnpool/detail/bytes.hpp>

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace gnnpool::mpi {

/// An error every rank of the communicator raises at the same point with the same message
/// (a failed agreement check: datasets of different sizes, a rank whose part of a collective
/// step failed, ...). `run` ends the job cleanly on it (every rank prints it, exit code 1);
/// any other exception ends it with MPI_Abort.
class collective_error : public error {
 public:
  using error::error;
};

namespace detail {

/// Throws `gnnpool::error` with MPI's message when an MPI call did not succeed (reachable only
/// under an error handler that returns; gnnpool installs MPI_ERRORS_ARE_FATAL).
inline void check_mpi(int code, std::string_view call) {
  if (code == MPI_SUCCESS) [[likely]]
    return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  ::gnnpool::detail::raise<error>(::gnnpool::detail::concat("MPI: ", call, " failed: ", std::string_view(text, static_cast<std::size_t>(length))));
}

template <typename T>
MPI_Datatype datatype() {
  if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, long> || std::is_same_v<T, long long>)
    return sizeof(T) == 8 ? MPI_INT64_T : MPI_INT32_T;
  else if constexpr (std::is_same_v<T, std::uint64_t> || std::is_same_v<T, unsigned long> ||
                     std::is_same_v<T, unsigned long long>)
    return sizeof(T) == 8 ? MPI_UINT64_T : MPI_UINT32_T;
  else if constexpr (std::is_same_v<T, int>) return MPI_INT;
  else if constexpr (std::is_same_v<T, unsigned char>) return MPI_UNSIGNED_CHAR;
  else static_assert(sizeof(T) == 0, "gnnpool::mpi: no MPI datatype for this type");
}

/// The largest message gnnpool sends at once (MPI counts are int): 1 GiB.
inline constexpr std::size_t max_message_bytes = std::size_t(1) << 30;

/// Calls send(first, count) for consecutive pieces of at most 1 GiB covering `size` items of T
/// (nothing for size 0).
template <typename T, typename Send>
void in_pieces(std::size_t size, Send&& send) {
  const std::size_t chunk = max_message_bytes / sizeof(T);
  for (std::size_t at = 0; at < size; at += chunk) send(at, static_cast<int>(std::min(chunk, size - at)));
}

}  // namespace detail

/// Starts MPI (MPI_Init_thread, MPI_THREAD_FUNNELED: only the main thread calls MPI) unless it
/// is already running, makes errors of MPI_COMM_WORLD fatal (MPI_ERRORS_ARE_FATAL: a failed or
/// broken communication ends the job instead of hanging it) and finalises MPI at the end of its
/// scope if it started it. One per program, in main.
class Environment {
 public:
  Environment(int& argc, char**& argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      m_owner = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
  }
  ~Environment() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (m_owner && !finalized) MPI_Finalize();
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  bool m_owner = false;
};

/// A communicator (MPI_COMM_WORLD by default; not owned) and the collective operations of
/// data-parallel training. Every member is collective: all ranks of the communicator call it in
/// the same order, as with MPI itself. Messages of more than 1 GiB are sent in pieces.
class Communicator {
 public:
  explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD) : m_comm(comm) {
    detail::check_mpi(MPI_Comm_rank(comm, &m_rank), "MPI_Comm_rank");
    detail::check_mpi(MPI_Comm_size(comm, &m_size), "MPI_Comm_size");
  }

  int rank() const { return m_rank; }
  int size() const { return m_size; }
  /// Rank 0: the one that prints and writes files.
  bool is_root() const { return m_rank == 0; }
  MPI_Comm native() const { return m_comm; }

  void barrier() const { detail::check_mpi(MPI_Barrier(m_comm), "MPI_Barrier"); }

  // ---- gradients and parameters -----------------------------------------------------------

  /// Sums `set` over the ranks, in place, on every rank: the tensors are packed into one
  /// contiguous buffer (slot order) and summed by ONE MPI_Allreduce (float or double, as the
  /// set), then unpacked. The packing buffer is kept between calls: no allocation per step.
  /// The layouts must agree across ranks (`check_layout` verifies it once, at the start).
  /// Cost: 2 copies of the set plus the all-reduce of num_scalars() values.
  template <typename Scalar>
  void allreduce_sum(ParameterSet<Scalar>& set) {
    static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                  "Communicator::allreduce_sum: ParameterSet<float> or ParameterSet<double>");
    if (m_size == 1) return;
    auto& buffer = packing_buffer<Scalar>();
    pack(set, buffer);
    allreduce(std::span<Scalar>(buffer), MPI_SUM);
    unpack(buffer, set);
  }

  /// Copies rank `root`'s tensors into every rank's `set` (one MPI_Bcast of one buffer), after
  /// checking that the layouts agree (`check_layout`): the start of data-parallel training, so
  /// that every rank begins from the same parameters whatever its own initialisation.
  template <typename Scalar>
  void broadcast(ParameterSet<Scalar>& set, int root = 0) {
    check_layout(set);
    if (m_size == 1) return;
    auto& buffer = packing_buffer<Scalar>();
    pack(set, buffer);
    broadcast(std::span<Scalar>(buffer), root);
    unpack(buffer, set);
  }

  /// Throws `collective_error` on every rank when the ranks' sets differ in names, shapes or
  /// order (a fingerprint is compared), naming the ranks and their tensor and scalar counts.
  template <typename Scalar>
  void check_layout(const ParameterSet<Scalar>& set) {
    ::gnnpool::detail::ByteWriter w;
    for (Index s = 0; s < set.size(); ++s) {
      w.put_text(set.name(s));
      w.put<std::int64_t>(set[s].rows());
      w.put<std::int64_t>(set[s].cols());
    }
    const std::uint64_t print = ::gnnpool::detail::fnv1a(w.bytes.data(), w.bytes.size());
    const auto prints = allgather(print);
    if (std::all_of(prints.begin(), prints.end(), [&](std::uint64_t p) { return p == prints.front(); })) return;
    const auto tensors = allgather(static_cast<std::int64_t>(set.size()));
    const auto scalars = allgather(static_cast<std::int64_t>(set.num_scalars()));
    std::string ranks;
    for (int r = 0; r < m_size; ++r)
      ranks += ::gnnpool::detail::concat(r == 0 ? "" : ", ", "rank ", r, ": ", tensors[static_cast<std::size_t>(r)],
                                         " tensors / ", scalars[static_cast<std::size_t>(r)], " scalars");
    throw collective_error("gnnpool::mpi: the parameter sets of the ranks have different layouts (names, shapes or order): " +
                           ranks);
  }

  // ---- metrics --------------------------------------------------------------------------

  /// Element-wise reduction of `values` over the ranks, in place (MPI_SUM by default; MPI_MAX,
  /// MPI_MIN, ...). For metrics: sums of losses, correct counts, times.
  template <typename T>
  void allreduce(std::span<T> values, MPI_Op op = MPI_SUM) const {
    static_assert(!std::is_const_v<T>);
    detail::in_pieces<T>(values.size(), [&](std::size_t at, int n) {
      detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data() + at, n, detail::datatype<T>(), op, m_comm),
                        "MPI_Allreduce");
    });
  }

  template <typename T>
  T allreduce(T value, MPI_Op op = MPI_SUM) const {
    allreduce(std::span<T>(&value, 1), op);
    return value;
  }
  template <typename T>
  T sum(T value) const { return allreduce(value, MPI_SUM); }
  template <typename T>
  T max(T value) const { return allreduce(value, MPI_MAX); }
  template <typename T>
  T min(T value) const { return allreduce(value, MPI_MIN); }

  /// Rank `root`'s values on every rank.
  template <typename T>
  void broadcast(std::span<T> values, int root = 0) const {
    detail::in_pieces<T>(values.size(), [&](std::size_t at, int n) {
      detail::check_mpi(MPI_Bcast(values.data() + at, n, detail::datatype<T>(), root, m_comm), "MPI_Bcast");
    });
  }

  /// Every rank's `value`, in rank order, on every rank.
  template <typename T>
  std::vector<T> allgather(T value) const {
    std::vector<T> out(static_cast<std::size_t>(m_size));
    detail::check_mpi(MPI_Allgather(&value, 1, detail::datatype<T>(), out.data(), 1, detail::datatype<T>(), m_comm),
                      "MPI_Allgather");
    return out;
  }

  // ---- agreement -------------------------------------------------------------------------

  /// Throws `collective_error` on every rank unless all ranks hold the same `value`; the
  /// message says what (`what`, e.g. "the number of graphs in the dataset") and every rank's value.
  template <typename T>
  void check_same(T value, std::string_view what) const {
    const auto all = allgather(value);
    if (std::all_of(all.begin(), all.end(), [&](const T& v) { return v == all.front(); })) return;
    std::string ranks;
    for (int r = 0; r < m_size; ++r)
      ranks += ::gnnpool::detail::concat(r == 0 ? "" : ", ", "rank ", r, ": ", all[static_cast<std::size_t>(r)]);
    throw collective_error(::gnnpool::detail::concat("gnnpool::mpi: ", what, " differs across the ranks (", ranks, ")"));
  }

  /// Agreement on success: every rank says whether its part of a step succeeded (`ok`, and a
  /// `message` when not); when any failed, EVERY rank throws `collective_error` naming `what`
  /// and the failed ranks' messages, so that no rank goes on to wait in a collective the
  /// failed rank never reaches.
  void check_all(bool ok, const std::string& message, std::string_view what) const {
    const auto flags = allgather(ok ? 1 : 0);
    if (std::all_of(flags.begin(), flags.end(), [](int f) { return f == 1; })) return;
    std::vector<unsigned char> mine;
    if (!ok) mine.assign(message.begin(), message.end());
    const auto parts = allgather_bytes(mine);
    std::string text;
    for (int r = 0; r < m_size; ++r)
      if (!flags[static_cast<std::size_t>(r)])
        text += ::gnnpool::detail::concat(text.empty() ? "" : "; ", "rank ", r, ": ",
                                          std::string(parts[static_cast<std::size_t>(r)].begin(),
                                                      parts[static_cast<std::size_t>(r)].end()));
    throw collective_error(::gnnpool::detail::concat("gnnpool::mpi: ", what, " failed on ", std::count(flags.begin(), flags.end(), 0),
                                                     " of ", m_size, " ranks: ", text));
  }

  /// Runs `f` on every rank and agrees on the outcome: an exception on any rank becomes the
  /// same `collective_error` on every rank (see `check_all`). Returns f's result.
  template <typename F>
  auto collectively(std::string_view what, F&& f) const {
    using R = decltype(f());
    bool ok = true;
    std::string message;
    if constexpr (std::is_void_v<R>) {
      try {
        f();
      } catch (const std::exception& e) {
        ok = false;
        message = e.what();
      }
      check_all(ok, message, what);
    } else {
      std::optional<R> result;
      try {
        result.emplace(f());
      } catch (const std::exception& e) {
        ok = false;
        message = e.what();
      }
      check_all(ok, message, what);
      return std::move(*result);
    }
  }

  // ---- bytes -----------------------------------------------------------------------------

  /// Every rank's bytes on every rank (in rank order).
  std::vector<std::vector<unsigned char>> allgather_bytes(const std::vector<unsigned char>& mine) const {
    const auto sizes = allgather(static_cast<std::uint64_t>(mine.size()));
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(m_size));
    for (int r = 0; r < m_size; ++r) {
      auto& part = out[static_cast<std::size_t>(r)];
      part.resize(static_cast<std::size_t>(sizes[static_cast<std::size_t>(r)]));
      if (r == m_rank) part = mine;
      broadcast(std::span<unsigned char>(part), r);
    }
    return out;
  }

  /// The concatenation of every rank's bytes, in rank order, on `root` (empty elsewhere).
  /// Point-to-point in pieces of at most 1 GiB, so any size works.
  std::vector<unsigned char> gather_bytes(const std::vector<unsigned char>& mine, int root = 0) const {
    const auto sizes = allgather(static_cast<std::uint64_t>(mine.size()));
    if (m_rank != root) {
      send(mine, root);
      return {};
    }
    std::uint64_t total = 0;
    for (const auto s : sizes) total += s;
    std::vector<unsigned char> out(static_cast<std::size_t>(total));
    std::size_t at = 0;
    for (int r = 0; r < m_size; ++r) {
      const auto n = static_cast<std::size_t>(sizes[static_cast<std::size_t>(r)]);
      if (r == root) std::copy(mine.begin(), mine.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
      else receive(out.data() + at, n, r);
      at += n;
    }
    return out;
  }

 private:
  static constexpr int byte_tag = 7301;

  void send(const std::vector<unsigned char>& bytes, int to) const {
    detail::in_pieces<unsigned char>(bytes.size(), [&](std::size_t at, int n) {
      detail::check_mpi(MPI_Send(bytes.data() + at, n, MPI_UNSIGNED_CHAR, to, byte_tag, m_comm), "MPI_Send");
    });
  }
  void receive(unsigned char* data, std::size_t size, int from) const {
    detail::in_pieces<unsigned char>(size, [&](std::size_t at, int n) {
      detail::check_mpi(MPI_Recv(data + at, n, MPI_UNSIGNED_CHAR, from, byte_tag, m_comm, MPI_STATUS_IGNORE), "MPI_Recv");
    });
  }

  template <typename Scalar>
  std::vector<Scalar>& packing_buffer() {
    if constexpr (std::is_same_v<Scalar, double>) return m_double_buffer;
    else return m_float_buffer;
  }

  template <typename Scalar>
  static void pack(const ParameterSet<Scalar>& set, std::vector<Scalar>& buffer) {
    buffer.resize(static_cast<std::size_t>(set.num_scalars()));
    std::size_t at = 0;
    for (Index s = 0; s < set.size(); ++s) {
      std::copy(set[s].data(), set[s].data() + set[s].size(), buffer.begin() + static_cast<std::ptrdiff_t>(at));
      at += static_cast<std::size_t>(set[s].size());
    }
  }
  template <typename Scalar>
  static void unpack(const std::vector<Scalar>& buffer, ParameterSet<Scalar>& set) {
    std::size_t at = 0;
    for (Index s = 0; s < set.size(); ++s) {
      std::copy(buffer.begin() + static_cast<std::ptrdiff_t>(at),
                buffer.begin() + static_cast<std::ptrdiff_t>(at) + set[s].size(), set[s].data());
      at += static_cast<std::size_t>(set[s].size());
    }
  }

  MPI_Comm m_comm;
  int m_rank = 0, m_size = 1;
  std::vector<double> m_double_buffer;
  std::vector<float> m_float_buffer;
};

/// Runs a data-parallel program's body inside an `Environment` and makes every failure end the
/// whole job, never hang it:
///  - `collective_error` (all ranks agree on it): every rank prints "rank r/P: message" to
///    stderr, MPI is finalised, and the program returns 1 on every rank;
///  - any other exception (one rank's own failure): that rank prints "rank r/P: fatal: message"
///    and calls MPI_Abort, which ends the other ranks, wherever they wait;
///  - a rank that dies (signal, exit without MPI_Finalize): mpirun ends the job.
/// `body()` returns the exit code.
template <typename F>
int run(int& argc, char**& argv, F&& body) {
  Environment env(argc, argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  try {
    return body();
  } catch (const collective_error& e) {
    std::fprintf(stderr, "rank %d/%d: %s\n", rank, size, e.what());
    std::fflush(stderr);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d/%d: fatal: %s (aborting the job)\n", rank, size, e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}

}  // namespace gnnpool::mpi

#endif
