#ifndef GNNPOOL_DETAIL_BYTES_HPP
#define GNNPOOL_DETAIL_BYTES_HPP

/// \file
/// Little-endian byte buffers with bounds-checked reads and the FNV-1a checksum: the pieces of
/// gnnpool's versioned binary files (pyramids, checkpoints). Not part of the API.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool::detail {

inline std::uint64_t fnv1a(const unsigned char* data, std::size_t size) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// Appends fixed-width little-endian values to a byte buffer.
class ByteWriter {
 public:
  std::vector<unsigned char> bytes;

  template <typename T>
  void put(T value) {
    static_assert(std::is_arithmetic_v<T>);
    using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
    static_assert(sizeof(T) == sizeof(U));
    U u = std::bit_cast<U>(value);
    for (std::size_t k = 0; k < sizeof(U); ++k) bytes.push_back(static_cast<unsigned char>((u >> (8 * k)) & 0xffu));
  }

  /// Raw bytes (a name), without a length: the caller writes the length first.
  void put_text(std::string_view text) {
    for (const char c : text) bytes.push_back(static_cast<unsigned char>(c));
  }
};

/// Reads fixed-width little-endian values with bounds checks; every failure names the file,
/// the byte offset and what was being read.
class ByteReader {
 public:
  ByteReader(const std::vector<unsigned char>& bytes, std::size_t begin, std::size_t end, std::string file)
      : m_bytes(bytes), m_pos(begin), m_end(end), m_file(std::move(file)) {}

  template <typename T>
  T get(std::string_view what) {
    need(sizeof(T), what);
    using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
    U u = 0;
    for (std::size_t k = 0; k < sizeof(U); ++k) u |= static_cast<U>(m_bytes[m_pos + k]) << (8 * k);
    m_pos += sizeof(U);
    return std::bit_cast<T>(u);
  }

  /// `size` raw bytes as a string (checked against the bytes left first).
  std::string get_text(std::size_t size, std::string_view what) {
    need(size, what);
    std::string out(reinterpret_cast<const char*>(m_bytes.data() + m_pos), size);
    m_pos += size;
    return out;
  }

  /// A count that must leave room for at least `bytes_each` bytes per item: rejects corrupt
  /// counts before anything is allocated.
  Index count(std::string_view what, std::size_t bytes_each) {
    const std::uint64_t c = get<std::uint64_t>(what);
    GNNPOOL_CHECK(bytes_each == 0 || c <= (m_end - m_pos) / bytes_each, parse_error, m_file, ": corrupt at byte ",
                  m_pos - 8, ": ", what, " = ", c, " needs ", bytes_each, " bytes each but only ", m_end - m_pos,
                  " bytes are left");
    GNNPOOL_CHECK(c <= static_cast<std::uint64_t>(std::numeric_limits<Index>::max()), parse_error, m_file,
                  ": corrupt at byte ", m_pos - 8, ": ", what, " = ", c, " is not a valid count");
    return static_cast<Index>(c);
  }

  /// Room for `count` items of `bytes_each` bytes: compared by division, so that a huge count
  /// cannot wrap the product around (2^61 items of 8 bytes "need" 0 bytes mod 2^64).
  void need_items(Index count, std::size_t bytes_each, std::string_view what) const {
    GNNPOOL_CHECK(count >= 0 && static_cast<std::uint64_t>(count) <= (m_end - m_pos) / bytes_each, parse_error,
                  m_file, ": truncated at byte ", m_pos, " while reading ", what, " (", count, " items of ",
                  bytes_each, " bytes needed, ", m_end - m_pos, " bytes left)");
  }

  void need(std::size_t size, std::string_view what) const {
    GNNPOOL_CHECK(m_end - m_pos >= size, parse_error, m_file, ": truncated at byte ", m_pos, " while reading ",
                  what, " (", size, " bytes needed, ", m_end - m_pos, " left)");
  }

  std::size_t position() const { return m_pos; }
  bool done() const { return m_pos == m_end; }
  const std::string& file() const { return m_file; }

 private:
  const std::vector<unsigned char>& m_bytes;
  std::size_t m_pos, m_end;
  std::string m_file;
};

/// Writes the parts one after the other to `path` (truncating it); `who` names the caller in
/// the `gnnpool::error` thrown when the file cannot be written.
inline void write_file(const std::string& path, std::initializer_list<const std::vector<unsigned char>*> parts,
                       std::string_view who) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  GNNPOOL_CHECK(static_cast<bool>(out), error, who, ": cannot open '", path, "' for writing");
  for (const auto* part : parts)
    out.write(reinterpret_cast<const char*>(part->data()), static_cast<std::streamsize>(part->size()));
  out.close();
  GNNPOOL_CHECK(static_cast<bool>(out), error, who, ": writing '", path, "' failed");
}

/// The whole file, or an empty vector when it cannot be opened (`ok` false).
inline std::vector<unsigned char> read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  if (!ok) return {};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---------------------------------------------------------------------------------------------
// The versioned files of gnnpool (pyramids, checkpoints) share one frame (little-endian):
//   header  : 8-byte magic, u32 version, u32 scalar bytes (4 or 8), u64 record count,
//             u64 payload bytes
//   payload : the records
//   trailer : u64 FNV-1a 64 hash of the payload bytes
// ---------------------------------------------------------------------------------------------

inline constexpr std::size_t versioned_header_bytes = 32;

/// What a versioned file is: its magic, the version this gnnpool reads and writes, and how
/// messages name it ("pyramid file", "the pyramid count", the magic as text).
struct FileKind {
  const char* magic;  ///< 8 bytes
  std::uint32_t version;
  std::string_view name;        ///< "pyramid file"
  std::string_view magic_text;  ///< "GNNPPYR\\0"
  std::string_view count_what;  ///< "the pyramid count"
};

/// Header, payload and checksum to `path`.
inline void write_versioned_file(const std::string& path, const FileKind& kind, std::uint32_t scalar_bytes,
                                 std::uint64_t count, const std::vector<unsigned char>& payload, std::string_view who) {
  ByteWriter head;
  for (int k = 0; k < 8; ++k) head.bytes.push_back(static_cast<unsigned char>(kind.magic[k]));
  head.put<std::uint32_t>(kind.version);
  head.put<std::uint32_t>(scalar_bytes);
  head.put<std::uint64_t>(count);
  head.put<std::uint64_t>(static_cast<std::uint64_t>(payload.size()));
  ByteWriter tail;
  tail.put<std::uint64_t>(fnv1a(payload.data(), payload.size()));
  write_file(path, {&head.bytes, &payload, &tail.bytes}, who);
}

/// A versioned file whose frame has been checked: the bytes, the header's fields and the
/// payload's extent [begin, end).
struct VersionedFile {
  std::vector<unsigned char> bytes;
  std::uint32_t scalar_bytes = 0;
  std::uint64_t count = 0, payload = 0;
  std::size_t begin = versioned_header_bytes, end = versioned_header_bytes;
};

/// Reads `path` and checks its frame: magic, version, scalar size, that the length is the
/// header's and that the checksum matches. Throws `parse_error` naming the file and the fault.
inline VersionedFile read_versioned_file(const std::string& path, const FileKind& kind) {
  bool opened = false;
  VersionedFile f;
  f.bytes = read_file(path, opened);
  const auto& bytes = f.bytes;
  GNNPOOL_CHECK(opened, parse_error, path, ": cannot open the ", kind.name);
  GNNPOOL_CHECK(bytes.size() >= 8 && std::equal(bytes.begin(), bytes.begin() + 8, kind.magic,
                                                [](unsigned char b, char c) { return b == static_cast<unsigned char>(c); }),
                parse_error, path, ": not a gnnpool ", kind.name, " (it does not start with the 8 bytes \"",
                kind.magic_text, "\")");
  ByteReader header(bytes, 8, std::min(bytes.size(), versioned_header_bytes), path);
  const auto version = header.get<std::uint32_t>("the format version");
  GNNPOOL_CHECK(version == kind.version, parse_error, path, ": format version ", version,
                " is not supported (this gnnpool reads version ", kind.version, ")");
  f.scalar_bytes = header.get<std::uint32_t>("the scalar size");
  GNNPOOL_CHECK(f.scalar_bytes == 4 || f.scalar_bytes == 8, parse_error, path, ": corrupt header: scalar size ",
                f.scalar_bytes, " (expected 4 or 8)");
  f.count = header.get<std::uint64_t>(kind.count_what);
  f.payload = header.get<std::uint64_t>("the payload size");
  const std::size_t available = bytes.size() - versioned_header_bytes;
  GNNPOOL_CHECK(available >= 8 && f.payload <= available - 8, parse_error, path, ": truncated: the header announces ",
                f.payload, " payload bytes and an 8-byte checksum but only ", available, " bytes follow the header");
  GNNPOOL_CHECK(f.payload == available - 8, parse_error, path, ": corrupt: ", available - 8 - f.payload,
                " unexpected bytes after the checksum");
  f.end = versioned_header_bytes + static_cast<std::size_t>(f.payload);
  ByteReader trailer(bytes, f.end, bytes.size(), path);
  const auto stored = trailer.get<std::uint64_t>("the checksum");
  const auto actual = fnv1a(bytes.data() + versioned_header_bytes, static_cast<std::size_t>(f.payload));
  GNNPOOL_CHECK(stored == actual, parse_error, path, ": corrupt: the payload checksum is ", actual,
                " but the file records ", stored);
  return f;
}

}  // namespace gnnpool::detail

#endif
