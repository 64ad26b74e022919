#include "core/toml_util.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace lightcone::toml_util {

absl::Status ConfigError(absl::string_view origin, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(origin, ": ", what));
}

absl::StatusOr<toml::table> ParseTable(absl::string_view text, absl::string_view origin) {
  try {
    return toml::parse(std::string_view(text.data(), text.size()),
                       std::string_view(origin.data(), origin.size()));
  } catch (const toml::parse_error& e) {
    return ConfigError(origin,
                       absl::StrCat("TOML syntax: ", std::string(e.description()), " at line ",
                                    static_cast<int64_t>(e.source().begin.line)));
  }
}

absl::StatusOr<std::string> ReadConfigFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the ", what));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace lightcone::toml_util
