// Status propagation macros in the Abseil style.
//
//   LC_RETURN_IF_ERROR(DoThing());
//   LC_ASSIGN_OR_RETURN(auto value, ComputeValue());
#ifndef LIGHTCONE_CORE_STATUS_MACROS_H_
#define LIGHTCONE_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LC_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::absl::Status lc_status_ = (expr);          \
    if (!lc_status_.ok()) return lc_status_;     \
  } while (0)

#define LC_STATUS_CONCAT_INNER_(a, b) a##b
#define LC_STATUS_CONCAT_(a, b) LC_STATUS_CONCAT_INNER_(a, b)

#define LC_ASSIGN_OR_RETURN(lhs, expr) \
  LC_ASSIGN_OR_RETURN_IMPL_(LC_STATUS_CONCAT_(lc_statusor_, __LINE__), lhs, expr)

#define LC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = *std::move(statusor)

#endif  // LIGHTCONE_CORE_STATUS_MACROS_H_
