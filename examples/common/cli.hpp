#ifndef GNNPOOL_EXAMPLES_COMMON_CLI_HPP
#define GNNPOOL_EXAMPLES_COMMON_CLI_HPP

// Command-line options and console output shared by the example programs: a small `--name
// value` parser that lists its options in --help and rejects unknown ones, a stopwatch, and
// duration / percentage formatting.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

/// Options given as `--name value` or `--flag`. Each `text` / `integer` / `real` / `flag` call declares an option (name, default,
/// help) so that `--help` can list them; `finish()` then rejects anything not declared.
class Options {
 public:
  Options(int argc, char** argv, std::string usage) : m_usage(std::move(usage)) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "-h" || a == "--help") {
        m_help = true;
        continue;
      }
      if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + a + "' (options start with --)");
      a = a.substr(2);
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        m_values[a.substr(0, eq)] = a.substr(eq + 1);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        m_values[a] = argv[++i];
      } else {
        m_values[a] = "";
      }
    }
  }

  std::string text(const std::string& name, const std::string& fallback, const std::string& help) {
    declare(name, fallback, help);
    auto it = m_values.find(name);
    return it == m_values.end() ? fallback : it->second;
  }
  long integer(const std::string& name, long fallback, const std::string& help) {
    return parse<long>(name, text(name, std::to_string(fallback), help));
  }
  double real(const std::string& name, double fallback, const std::string& help) {
    std::ostringstream d;
    d << fallback;
    return parse<double>(name, text(name, d.str(), help));
  }
  bool flag(const std::string& name, const std::string& help) {
    declare(name, "", help, true);
    auto it = m_values.find(name);
    if (it != m_values.end() && !it->second.empty())
      throw std::invalid_argument("--" + name + " takes no value (got '" + it->second + "')");
    return it != m_values.end();
  }
  bool given(const std::string& name) const { return m_values.count(name) != 0; }

  /// Prints the help and exits when --help was given; throws on an undeclared option.
  void finish() const {
    if (m_help) {
      std::printf("%s\n\nOptions:\n", m_usage.c_str());
      for (const auto& o : m_declared)
        std::printf("  --%-18s %s%s\n", (o.name + (o.is_flag ? "" : " V")).c_str(), o.help.c_str(),
                    o.is_flag || o.fallback.empty() ? "" : (" [" + o.fallback + "]").c_str());
      std::exit(0);
    }
    for (const auto& [name, value] : m_values) {
      bool known = false;
      for (const auto& o : m_declared) known = known || o.name == name;
      if (!known) throw std::invalid_argument("unknown option --" + name + " (see --help)");
    }
  }

 private:
  struct Declared {
    std::string name, fallback, help;
    bool is_flag;
  };
  void declare(const std::string& name, const std::string& fallback, const std::string& help, bool is_flag = false) {
    for (const auto& o : m_declared)
      if (o.name == name) return;
    m_declared.push_back({name, fallback, help, is_flag});
  }
  template <typename T>
  static T parse(const std::string& name, const std::string& s) {
    std::istringstream in(s);
    T v{};
    if (!(in >> v) || !(in >> std::ws).eof())
      throw std::invalid_argument("--" + name + " expects a number, got '" + s + "'");
    return v;
  }

  std::string m_usage;
  bool m_help = false;
  std::map<std::string, std::string> m_values;
  std::vector<Declared> m_declared;
};

/// Wall-clock seconds since construction (or the last `restart`).
class Stopwatch {
 public:
  Stopwatch() : m_start(std::chrono::steady_clock::now()) {}
  void restart() { m_start = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  }

 private:
  std::chrono::steady_clock::time_point m_start;
};

/// "0.42 s", "3m07s", "1h02m".
inline std::string format_duration(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, s < 10 ? "%.2f s" : "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  }
  return buf;
}

}  // namespace examples

#endif
