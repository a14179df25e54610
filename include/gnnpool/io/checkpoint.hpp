#ifndef GNNPOOL_IO_CHECKPOINT_HPP
#define GNNPOOL_IO_CHECKPOINT_HPP

/// \file
/// Checkpoints: a `ParameterSet` (by name) and, optionally, the state of its `Adam` optimiser in
/// one versioned binary file, so that training stops and resumes step for step. Data-parallel
/// runs write them from rank 0 (gnnpool/mpi/); a single process reads them like any other.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/detail/bytes.hpp>
#include <gnnpool/nn/adam.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

// ---------------------------------------------------------------------------------------------
// File format, version 1 (little-endian):
//   header  : magic "GNNPCKPT" (8 bytes), u32 version = 1, u32 scalar bytes (4 or 8),
//             u64 tensor count T, u64 payload bytes
//   payload : u64 has_optimizer (0 or 1), i64 optimiser step count, then per tensor:
//             u64 name length, name bytes (UTF-8, no terminator), u64 rows, u64 cols,
//             scalar values[rows * cols] (row-major); then, when has_optimizer, per tensor:
//             scalar first moment[rows * cols], scalar second moment[rows * cols]
//   trailer : u64 FNV-1a 64 hash of the payload bytes
// ---------------------------------------------------------------------------------------------

/// What a checkpoint file holds. `first_moment` / `second_moment` are empty sets when the file
/// has no optimiser state (`has_optimizer` false).
template <typename Scalar_>
struct Checkpoint {
  using Scalar = Scalar_;
  ParameterSet<Scalar> params;
  bool has_optimizer = false;
  std::int64_t steps = 0;
  ParameterSet<Scalar> first_moment, second_moment;
};

namespace detail {

inline constexpr char checkpoint_magic[8] = {'G', 'N', 'N', 'P', 'C', 'K', 'P', 'T'};
inline constexpr std::uint32_t checkpoint_version = 1;
inline constexpr FileKind checkpoint_file{checkpoint_magic, checkpoint_version, "checkpoint", "GNNPCKPT",
                                         "the tensor count"};

template <typename Scalar>
void put_values(ByteWriter& w, const Matrix<Scalar>& m) {
  for (Index i = 0; i < m.size(); ++i) w.put<Scalar>(m.data()[i]);  // row-major storage
}

template <typename Scalar>
void write_checkpoint(const std::string& path, const ParameterSet<Scalar>& params, const Adam<Scalar>* adam) {
  static_assert(sizeof(Scalar) == 4 || sizeof(Scalar) == 8, "save_checkpoint: Scalar must be float or double");
  if (adam)
    GNNPOOL_CHECK(params.same_layout(adam->first_moment()), shape_error, "save_checkpoint: the parameters (",
                  params.size(), " tensors) do not have the layout of the optimiser (", adam->first_moment().size(),
                  " tensors)");
  ByteWriter w;
  w.put<std::uint64_t>(adam ? 1 : 0);
  w.put<std::int64_t>(adam ? adam->steps() : 0);
  for (Index s = 0; s < params.size(); ++s) {
    w.put<std::uint64_t>(params.name(s).size());
    w.put_text(params.name(s));
    w.put<std::uint64_t>(static_cast<std::uint64_t>(params[s].rows()));
    w.put<std::uint64_t>(static_cast<std::uint64_t>(params[s].cols()));
    put_values(w, params[s]);
  }
  if (adam)
    for (Index s = 0; s < params.size(); ++s) {
      put_values(w, adam->first_moment()[s]);
      put_values(w, adam->second_moment()[s]);
    }
  write_versioned_file(path, checkpoint_file, static_cast<std::uint32_t>(sizeof(Scalar)),
                       static_cast<std::uint64_t>(params.size()), w.bytes, "save_checkpoint");
}

/// Copies the tensors of `from` into `to` after checking that the layouts agree, naming the
/// first difference.
template <typename Scalar>
void copy_checked(const std::string& path, const ParameterSet<Scalar>& from, ParameterSet<Scalar>& to,
                  std::string_view who) {
  GNNPOOL_CHECK(from.size() == to.size(), shape_error, who, ": '", path, "' holds ", from.size(),
                " tensors but the model has ", to.size());
  for (Index s = 0; s < to.size(); ++s) {
    GNNPOOL_CHECK(from.name(s) == to.name(s), shape_error, who, ": tensor ", s, " of '", path, "' is '", from.name(s),
                  "' but the model's is '", to.name(s), "'");
    GNNPOOL_CHECK(from[s].rows() == to[s].rows() && from[s].cols() == to[s].cols(), shape_error, who, ": '",
                  to.name(s), "' is ", shape(from[s].rows(), from[s].cols()), " in '", path, "' but ",
                  shape(to[s].rows(), to[s].cols()), " in the model");
  }
  for (Index s = 0; s < to.size(); ++s) to[s] = from[s];
}

}  // namespace detail

/// Writes the parameters alone (format above). Throws `gnnpool::error` when the file cannot be
/// written.
template <typename Scalar>
void save_checkpoint(const std::string& path, const ParameterSet<Scalar>& params) {
  detail::write_checkpoint<Scalar>(path, params, nullptr);
}

/// Writes the parameters and the optimiser's moments and step count, so that `load_checkpoint`
/// continues training exactly where it stopped. Throws `shape_error` when the optimiser was
/// built for another layout, `gnnpool::error` when the file cannot be written.
template <typename Scalar>
void save_checkpoint(const std::string& path, const ParameterSet<Scalar>& params, const Adam<Scalar>& adam) {
  detail::write_checkpoint<Scalar>(path, params, &adam);
}

/// Reads a file written by `save_checkpoint` (values converted to Scalar when the file holds
/// the other precision). Everything is checked before anything is returned: magic, version,
/// length, checksum, every count against the bytes left before it is allocated, unique names.
/// Throws `gnnpool::parse_error` naming the file, the byte offset and what was expected;
/// nothing is half-loaded.
template <typename Scalar>
Checkpoint<Scalar> read_checkpoint(const std::string& path) {
  const detail::VersionedFile file = detail::read_versioned_file(path, detail::checkpoint_file);
  const auto scalar_bytes = file.scalar_bytes;
  const auto count = file.count;
  const auto payload = file.payload;
  const std::size_t end = file.end;
  detail::ByteReader r(file.bytes, file.begin, end, path);
  Checkpoint<Scalar> out;
  const auto has_optimizer = r.get<std::uint64_t>("the optimiser flag");
  GNNPOOL_CHECK(has_optimizer <= 1, parse_error, path, ": corrupt at byte ", r.position() - 8,
                ": the optimiser flag is ", has_optimizer, " (expected 0 or 1)");
  out.has_optimizer = has_optimizer == 1;
  out.steps = r.get<std::int64_t>("the optimiser step count");
  GNNPOOL_CHECK(out.steps >= 0, parse_error, path, ": corrupt at byte ", r.position() - 8,
                ": negative optimiser step count ", out.steps);
  // Every tensor record takes at least 24 bytes (name length, rows, cols).
  GNNPOOL_CHECK(count <= payload / 24, parse_error, path, ": corrupt header: ", count, " tensors cannot fit in ",
                payload, " bytes");
  // Every value must be finite in the Scalar read into (a double file read as float can hold
  // values beyond float's range).
  auto values = [&](Matrix<Scalar>& m, std::string_view what) {
    for (Index i = 0; i < m.size(); ++i) {
      const std::size_t at = r.position();
      const double v = scalar_bytes == 4 ? static_cast<double>(r.get<float>(what)) : r.get<double>(what);
      GNNPOOL_CHECK(std::abs(v) <= static_cast<double>(std::numeric_limits<Scalar>::max()), parse_error, path,
                    ": corrupt at byte ", at, ": ", what, " is ", v, ", not a finite ",
                    sizeof(Scalar) == 4 ? "float" : "double");
      m.data()[i] = static_cast<Scalar>(v);
    }
  };
  for (std::uint64_t k = 0; k < count; ++k) {
    const auto length = static_cast<std::size_t>(r.count("a name length", 1));
    const std::size_t name_at = r.position();
    std::string name = r.get_text(length, "a name");
    const Index rows = r.count("a row count", 0);
    const std::size_t cols_at = r.position();
    const auto cols = r.get<std::uint64_t>("a column count");
    // rows * cols values must fit in the bytes left (checked without overflow).
    const std::size_t left = end - r.position();
    const auto row_bytes = static_cast<std::uint64_t>(scalar_bytes) * cols;
    GNNPOOL_CHECK(cols <= left / scalar_bytes && (rows == 0 || row_bytes == 0 ||
                                                  static_cast<std::uint64_t>(rows) <= left / row_bytes),
                  parse_error, path, ": corrupt at byte ", cols_at, ": tensor '", name, "' is ", rows, " x ", cols,
                  " but only ", left, " bytes are left");
    Index slot = -1;
    try {
      slot = out.params.add(std::move(name), rows, static_cast<Index>(cols));
    } catch (const std::invalid_argument& e) {
      detail::raise<parse_error>(detail::concat(path, ": corrupt at byte ", name_at, ": ", e.what()));
    }
    values(out.params[slot], "a parameter value");
  }
  if (out.has_optimizer) {
    out.first_moment = out.params.zeros_like();
    out.second_moment = out.params.zeros_like();
    for (Index s = 0; s < out.params.size(); ++s) {
      values(out.first_moment[s], "a first-moment value");
      values(out.second_moment[s], "a second-moment value");
    }
  }
  GNNPOOL_CHECK(r.done(), parse_error, path, ": corrupt: ", end - r.position(),
                " payload bytes left after the last tensor");
  return out;
}

/// Loads the parameters of a checkpoint into `params`, whose names and shapes (in order) must
/// be the file's: throws `shape_error` naming the first difference (and `parse_error` for a bad
/// file); `params` is left untouched on error.
template <typename Scalar>
void load_checkpoint(const std::string& path, ParameterSet<Scalar>& params) {
  const auto c = read_checkpoint<Scalar>(path);
  detail::copy_checked(path, c.params, params, "load_checkpoint");
}

/// Loads the parameters and the optimiser state. Throws `gnnpool::error` when the file has no
/// optimiser state (it was saved with the parameters alone), besides the errors above; neither
/// `params` nor `adam` is changed on error.
template <typename Scalar>
void load_checkpoint(const std::string& path, ParameterSet<Scalar>& params, Adam<Scalar>& adam) {
  const auto c = read_checkpoint<Scalar>(path);
  GNNPOOL_CHECK(c.has_optimizer, error, "load_checkpoint: '", path,
                "' holds parameters only (no optimiser state); load it without the optimiser");
  ParameterSet<Scalar> staged = params;
  detail::copy_checked(path, c.params, staged, "load_checkpoint");
  adam.set_state(c.first_moment, c.second_moment, c.steps);
  params = std::move(staged);
}

}  // namespace gnnpool

#endif
