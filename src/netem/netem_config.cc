#include "netem/netem_config.h"

#include <fstream>
#include <sstream>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "toml++/toml.h"

namespace lightcone::netem {
namespace {

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

// Reads a number (integer or float) at `key`; absent keys leave `*out` unchanged.
absl::Status ReadNumber(const toml::table& table, std::string_view key, absl::string_view where,
                        double* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return absl::OkStatus();
  if (auto v = node->value<double>(); v.has_value() && (node->is_floating_point() ||
                                                        node->is_integer())) {
    *out = *v;
    return absl::OkStatus();
  }
  return Invalid(where, absl::StrCat("'", std::string(key), "' must be a number"));
}

absl::Status ReadCount(const toml::table& table, std::string_view key, absl::string_view where,
                       size_t* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return absl::OkStatus();
  auto v = node->value<int64_t>();
  if (!node->is_integer() || !v.has_value() || *v <= 0) {
    return Invalid(where, absl::StrCat("'", std::string(key), "' must be a positive integer"));
  }
  *out = static_cast<size_t>(*v);
  return absl::OkStatus();
}

absl::Status ReadString(const toml::table& table, std::string_view key, absl::string_view where,
                        std::string* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return absl::OkStatus();
  if (!node->is_string()) {
    return Invalid(where, absl::StrCat("'", std::string(key), "' must be a string"));
  }
  *out = *node->value<std::string>();
  return absl::OkStatus();
}

absl::Status CheckKeys(const toml::table& table, std::initializer_list<std::string_view> known,
                       absl::string_view where) {
  for (const auto& [key, node] : table) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || key.str() == k;
    if (!ok) return Invalid(where, absl::StrCat("unknown key '", std::string(key.str()), "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseRelayTable(const toml::table& table, absl::string_view source,
                             RelayOptions* options) {
  const std::string where = absl::StrCat(source, " [relay]");
  LC_RETURN_IF_ERROR(CheckKeys(table,
                               {"spin_us", "max_queued_datagrams", "max_queued_bytes",
                                "max_mappings_per_link", "mapping_idle_timeout_s",
                                "max_datagram_bytes", "max_links", "seed", "realtime_priority"},
                               where));
  double spin_us = static_cast<double>(options->spin_window.count()) / 1e3;
  LC_RETURN_IF_ERROR(ReadNumber(table, "spin_us", where, &spin_us));
  if (!(spin_us >= 0 && spin_us <= static_cast<double>(kMaxSpinWindow.count()) / 1e3)) {
    return Invalid(where, absl::StrCat("spin_us ", spin_us, " is outside [0, ",
                                       kMaxSpinWindow.count() / 1000, "]"));
  }
  options->spin_window = std::chrono::nanoseconds(static_cast<int64_t>(spin_us * 1e3));
  LC_RETURN_IF_ERROR(ReadCount(table, "max_queued_datagrams", where,
                               &options->max_queued_datagrams));
  LC_RETURN_IF_ERROR(ReadCount(table, "max_queued_bytes", where, &options->max_queued_bytes));
  LC_RETURN_IF_ERROR(ReadCount(table, "max_mappings_per_link", where,
                               &options->max_mappings_per_link));
  LC_RETURN_IF_ERROR(ReadCount(table, "max_links", where, &options->max_links));
  LC_RETURN_IF_ERROR(ReadCount(table, "max_datagram_bytes", where,
                               &options->max_datagram_bytes));
  if (options->max_datagram_bytes > kDefaultMaxDatagramBytes) {
    return Invalid(where, absl::StrCat("max_datagram_bytes is above ", kDefaultMaxDatagramBytes));
  }
  size_t seed = options->seed;
  LC_RETURN_IF_ERROR(ReadCount(table, "seed", where, &seed));
  options->seed = seed;
  if (const toml::node* node = table.get("realtime_priority"); node != nullptr) {
    auto v = node->value<int64_t>();
    if (!node->is_integer() || !v.has_value() || *v < 0 || *v > 99) {
      return Invalid(where, "'realtime_priority' must be an integer in 0..99");
    }
    options->realtime_priority = static_cast<int>(*v);
  }
  double idle_s = static_cast<double>(options->mapping_idle_timeout.count()) / 1e9;
  LC_RETURN_IF_ERROR(ReadNumber(table, "mapping_idle_timeout_s", where, &idle_s));
  if (!(idle_s > 0 && idle_s <= 86400)) {
    return Invalid(where, "mapping_idle_timeout_s must be in (0, 86400]");
  }
  options->mapping_idle_timeout = std::chrono::nanoseconds(static_cast<int64_t>(idle_s * 1e9));
  return absl::OkStatus();
}

absl::StatusOr<LinkSpec> ParseLinkTable(const toml::table& table, absl::string_view where) {
  LC_RETURN_IF_ERROR(CheckKeys(table,
                               {"name", "listen", "forward", "delay_ms", "return_delay_ms",
                                "jitter_ms", "jitter", "loss"},
                               where));
  LinkSpec spec;
  LC_RETURN_IF_ERROR(ReadString(table, "name", where, &spec.name));
  LC_RETURN_IF_ERROR(ReadString(table, "listen", where, &spec.listen));
  LC_RETURN_IF_ERROR(ReadString(table, "forward", where, &spec.forward));
  if (spec.listen.empty()) return Invalid(where, "'listen' (HOST:PORT) is required");
  if (spec.forward.empty()) return Invalid(where, "'forward' (HOST:PORT) is required");
  if (table.get("delay_ms") == nullptr) {
    return Invalid(where, "'delay_ms' is required (0 for none)");
  }
  double delay_ms = 0;
  LC_RETURN_IF_ERROR(ReadNumber(table, "delay_ms", where, &delay_ms));
  auto delay = MillisecondsToDuration(delay_ms, "delay_ms");
  if (!delay.ok()) return Invalid(where, delay.status().message());
  spec.delay = *delay;
  if (table.get("return_delay_ms") != nullptr) {
    double return_ms = 0;
    LC_RETURN_IF_ERROR(ReadNumber(table, "return_delay_ms", where, &return_ms));
    auto d = MillisecondsToDuration(return_ms, "return_delay_ms");
    if (!d.ok()) return Invalid(where, d.status().message());
    spec.return_delay = *d;
  }
  double jitter_ms = 0;
  LC_RETURN_IF_ERROR(ReadNumber(table, "jitter_ms", where, &jitter_ms));
  auto jitter = MillisecondsToDuration(jitter_ms, "jitter_ms");
  if (!jitter.ok()) return Invalid(where, jitter.status().message());
  spec.jitter = *jitter;
  std::string distribution = "uniform";
  LC_RETURN_IF_ERROR(ReadString(table, "jitter", where, &distribution));
  auto parsed = ParseJitterDistribution(distribution);
  if (!parsed.ok()) return Invalid(where, parsed.status().message());
  spec.jitter_distribution = *parsed;
  LC_RETURN_IF_ERROR(ReadNumber(table, "loss", where, &spec.loss));
  absl::Status valid = ValidateLinkSpec(spec);
  if (!valid.ok()) return Invalid(where, valid.message());
  return spec;
}

}  // namespace

absl::StatusOr<NetemConfig> ParseNetemConfig(absl::string_view text, absl::string_view source) {
  if (text.size() > kMaxConfigBytes) {
    return Invalid(source, absl::StrCat("config is larger than ", kMaxConfigBytes, " bytes"));
  }
  toml::table root;
  try {
    root = toml::parse(std::string_view(text.data(), text.size()),
                       std::string_view(source.data(), source.size()));
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return Invalid(source, absl::StrCat("line ", begin.line, " column ", begin.column, ": ",
                                        std::string(e.description())));
  }
  NetemConfig config;
  LC_RETURN_IF_ERROR(CheckKeys(root, {"relay", "link"}, source));
  if (const toml::node* relay = root.get("relay"); relay != nullptr) {
    if (!relay->is_table()) return Invalid(source, "'relay' must be a table ([relay])");
    LC_RETURN_IF_ERROR(ParseRelayTable(*relay->as_table(), source, &config.relay));
  }
  const toml::node* links = root.get("link");
  if (links == nullptr || !links->is_array_of_tables()) {
    return Invalid(source, "no links: add one or more [[link]] tables");
  }
  const toml::array& array = *links->as_array();
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string where = absl::StrCat(source, " [[link]] #", i + 1);
    LC_ASSIGN_OR_RETURN(LinkSpec spec, ParseLinkTable(*array[i].as_table(), where));
    config.links.push_back(std::move(spec));
  }
  if (config.links.size() > config.relay.max_links) {
    return Invalid(source, absl::StrCat(config.links.size(), " links exceed max_links ",
                                        config.relay.max_links));
  }
  return config;
}

absl::StatusOr<NetemConfig> LoadNetemConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read netem config '", path, "'"));
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseNetemConfig(text, path);
}

}  // namespace lightcone::netem
