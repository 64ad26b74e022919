#include "server/store/store.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace lightcone::server {
namespace {

template <typename Enum, size_t N>
std::string NameOf(const std::array<std::pair<Enum, const char*>, N>& names, Enum value) {
  for (const auto& [e, name] : names) {
    if (e == value) return name;
  }
  return "unknown";
}

template <typename Enum, size_t N>
absl::StatusOr<Enum> Parse(const std::array<std::pair<Enum, const char*>, N>& names,
                           const std::string& name, const char* what) {
  for (const auto& [e, n] : names) {
    if (name == n) return e;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown ", what, " \"", name, "\""));
}

constexpr std::array<std::pair<LandmarkStatus, const char*>, 3> kLandmarkStatuses{{
    {LandmarkStatus::kActive, "active"},
    {LandmarkStatus::kFlagged, "flagged"},
    {LandmarkStatus::kRetired, "retired"},
}};
constexpr std::array<std::pair<VerdictStatus, const char*>, 3> kVerdictStatuses{{
    {VerdictStatus::kCompliant, "compliant"},
    {VerdictStatus::kViolation, "violation"},
    {VerdictStatus::kUnproven, "unproven"},
}};
constexpr std::array<std::pair<AlertState, const char*>, 3> kAlertStates{{
    {AlertState::kOpen, "open"},
    {AlertState::kAcknowledged, "acknowledged"},
    {AlertState::kResolved, "resolved"},
}};
constexpr std::array<std::pair<AlertSeverity, const char*>, 3> kAlertSeverities{{
    {AlertSeverity::kInfo, "info"},
    {AlertSeverity::kWarning, "warning"},
    {AlertSeverity::kCritical, "critical"},
}};
constexpr std::array<std::pair<Role, const char*>, 5> kRoles{{
    {Role::kAgent, "agent"},
    {Role::kLandmark, "landmark"},
    {Role::kOperator, "operator"},
    {Role::kAuditor, "auditor"},
    {Role::kAdmin, "admin"},
}};

}  // namespace

std::string RoleName(Role role) { return NameOf(kRoles, role); }
absl::StatusOr<Role> ParseRole(const std::string& name) { return Parse(kRoles, name, "role"); }
std::string LandmarkStatusName(LandmarkStatus status) { return NameOf(kLandmarkStatuses, status); }
absl::StatusOr<LandmarkStatus> ParseLandmarkStatus(const std::string& name) {
  return Parse(kLandmarkStatuses, name, "landmark status");
}
std::string VerdictStatusName(VerdictStatus status) { return NameOf(kVerdictStatuses, status); }
absl::StatusOr<VerdictStatus> ParseVerdictStatus(const std::string& name) {
  return Parse(kVerdictStatuses, name, "verdict status");
}
std::string AlertStateName(AlertState state) { return NameOf(kAlertStates, state); }
absl::StatusOr<AlertState> ParseAlertState(const std::string& name) {
  return Parse(kAlertStates, name, "alert state");
}
std::string AlertSeverityName(AlertSeverity severity) {
  return NameOf(kAlertSeverities, severity);
}
absl::StatusOr<AlertSeverity> ParseAlertSeverity(const std::string& name) {
  return Parse(kAlertSeverities, name, "alert severity");
}

absl::StatusOr<std::vector<VerdictPoint>> Store::ListLicenceVerdictHistory(
    int64_t licence_id, absl::Time since, absl::Time until, int64_t max_rows) {
  if (max_rows < 0) return absl::InvalidArgumentError("store: max_rows must be >= 0");
  std::vector<VerdictPoint> rows;
  LC_RETURN_IF_ERROR(ReadLicenceVerdictHistory(
      licence_id, since, until, absl::InfiniteFuture(), [&](const VerdictPoint& p) {
        if (static_cast<int64_t>(rows.size()) == max_rows) {
          return absl::InvalidArgumentError(absl::StrCat(
              "the range holds more than ", max_rows, " verdicts of licence ", licence_id,
              "'s GPUs: choose a shorter range"));
        }
        rows.push_back(p);
        return absl::OkStatus();
      }));
  return rows;
}

}  // namespace lightcone::server
