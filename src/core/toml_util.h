// Shared pieces of the TOML config loaders (agent, landmark): reading the file, parsing it
// with syntax errors turned into statuses, and the "<origin>: <what>" error shape.
#ifndef LIGHTCONE_CORE_TOML_UTIL_H_
#define LIGHTCONE_CORE_TOML_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "toml++/toml.h"

namespace lightcone::toml_util {

// InvalidArgument "<origin>: <what>": a config value that is missing or out of range.
absl::Status ConfigError(absl::string_view origin, absl::string_view what);

// Parses `text` as a TOML document. A syntax error is InvalidArgument
// "<origin>: TOML syntax: <description> at line <n>".
absl::StatusOr<toml::table> ParseTable(absl::string_view text, absl::string_view origin);

// The whole content of the file at `path`; NotFound "<path>: cannot read the <what>" when it
// cannot be opened (`what` names the file's role, e.g. "agent config").
absl::StatusOr<std::string> ReadConfigFile(const std::string& path, absl::string_view what);

}  // namespace lightcone::toml_util

#endif  // LIGHTCONE_CORE_TOML_UTIL_H_
