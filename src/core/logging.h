// The one logging wrapper over spdlog. Components log through a named logger so every
// line carries its component ("[agent] ...", "[landmark] ..."). Never log keys or tokens.
#ifndef LIGHTCONE_CORE_LOGGING_H_
#define LIGHTCONE_CORE_LOGGING_H_

#include <memory>
#include <string_view>

#include "spdlog/spdlog.h"

namespace lightcone {

// Returns the logger for `component`, creating it (stderr, shared format) on first use.
// Thread-safe.
std::shared_ptr<spdlog::logger> Logger(std::string_view component);

// Sets the level of every Lightcone logger: "debug", "info", "warn", "error", "off".
void SetLogLevel(std::string_view level);

}  // namespace lightcone

#endif  // LIGHTCONE_CORE_LOGGING_H_
