#include "netem/link_spec.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"

namespace lightcone::netem {

absl::StatusOr<JitterDistribution> ParseJitterDistribution(absl::string_view text) {
  if (text == "uniform") return JitterDistribution::kUniform;
  if (text == "normal") return JitterDistribution::kNormal;
  return absl::InvalidArgumentError(
      absl::StrCat("jitter distribution '", text, "' is not 'uniform' or 'normal'"));
}

const char* JitterDistributionName(JitterDistribution distribution) {
  switch (distribution) {
    case JitterDistribution::kUniform:
      return "uniform";
    case JitterDistribution::kNormal:
      return "normal";
  }
  return "unknown";
}

absl::StatusOr<std::chrono::nanoseconds> MillisecondsToDuration(double ms,
                                                                absl::string_view field) {
  if (!std::isfinite(ms) || ms < 0.0 || ms > kMaxLinkDelayMs) {
    return absl::InvalidArgumentError(absl::StrCat(field, "=", ms, " is outside [0, ",
                                                   kMaxLinkDelayMs, "] milliseconds"));
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(ms * 1e6)));
}

absl::Status ValidateLinkSpec(const LinkSpec& spec) {
  const std::string where = absl::StrCat("link '", spec.name.empty() ? spec.listen : spec.name,
                                         "'");
  if (spec.listen.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": listen address is empty"));
  }
  if (spec.forward.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": forward address is empty"));
  }
  const auto max = std::chrono::nanoseconds(static_cast<int64_t>(kMaxLinkDelayMs * 1e6));
  auto check = [&](std::chrono::nanoseconds d, const char* field) -> absl::Status {
    if (d.count() < 0 || d > max) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", field, " ",
                                                     d.count() / 1e6, " ms is outside [0, ",
                                                     kMaxLinkDelayMs, "]"));
    }
    return absl::OkStatus();
  };
  LC_RETURN_IF_ERROR(check(spec.delay, "delay_ms"));
  LC_RETURN_IF_ERROR(check(spec.effective_return_delay(), "return_delay_ms"));
  LC_RETURN_IF_ERROR(check(spec.jitter, "jitter_ms"));
  if (!(spec.loss >= 0.0 && spec.loss <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": loss ", spec.loss, " is outside [0, 1]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LinkSpec> ParseLinkFlag(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  absl::string_view endpoints = parts[0];
  std::vector<absl::string_view> sides = absl::StrSplit(endpoints, absl::MaxSplits('=', 1));
  if (sides.size() != 2 || sides[0].empty() || sides[1].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--link '", text,
                     "': expected LISTEN_HOST:PORT=FORWARD_HOST:PORT,delay_ms=D[,...]"));
  }
  LinkSpec spec;
  spec.listen = std::string(sides[0]);
  spec.forward = std::string(sides[1]);
  bool have_delay = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::vector<absl::string_view> kv = absl::StrSplit(parts[i], absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--link '", text, "': option '", parts[i], "' is not KEY=VALUE"));
    }
    absl::string_view key = kv[0];
    absl::string_view value = kv[1];
    if (key == "name") {
      spec.name = std::string(value);
      continue;
    }
    if (key == "jitter" || key == "jitter_distribution") {
      LC_ASSIGN_OR_RETURN(spec.jitter_distribution, ParseJitterDistribution(value));
      continue;
    }
    double number = 0;
    if (!absl::SimpleAtod(value, &number)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--link '", text, "': ", key, "='", value, "' is not a number"));
    }
    if (key == "delay_ms") {
      LC_ASSIGN_OR_RETURN(spec.delay, MillisecondsToDuration(number, "delay_ms"));
      have_delay = true;
    } else if (key == "return_delay_ms") {
      LC_ASSIGN_OR_RETURN(spec.return_delay, MillisecondsToDuration(number, "return_delay_ms"));
    } else if (key == "jitter_ms") {
      LC_ASSIGN_OR_RETURN(spec.jitter, MillisecondsToDuration(number, "jitter_ms"));
    } else if (key == "loss") {
      if (!(number >= 0.0 && number <= 1.0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--link '", text, "': loss=", value, " is outside [0, 1]"));
      }
      spec.loss = number;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--link '", text, "': unknown option '", key,
          "' (known: delay_ms, return_delay_ms, jitter_ms, jitter, loss, name)"));
    }
  }
  if (!have_delay) {
    return absl::InvalidArgumentError(
        absl::StrCat("--link '", text, "': delay_ms=D is required (use delay_ms=0 for none)"));
  }
  LC_RETURN_IF_ERROR(ValidateLinkSpec(spec));
  return spec;
}

}  // namespace lightcone::netem
