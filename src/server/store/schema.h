// Versioned schema migrations of the evidence store, shared by both backends. Migration n
// brings the schema from version n-1 to n; applied versions are recorded in the
// `schema_version` table. Migrations are written once with two placeholders that each dialect
// renders: {{ID}} (an auto-assigned 64-bit primary key) and {{BLOB}} (raw bytes).
#ifndef LIGHTCONE_SERVER_STORE_SCHEMA_H_
#define LIGHTCONE_SERVER_STORE_SCHEMA_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/sql_database.h"

namespace lightcone::server::internal {

struct Migration {
  int version;
  const char* sql;
};

// Every migration, in increasing version order.
const std::vector<Migration>& Migrations();
// The version the newest migration brings the schema to.
int LatestSchemaVersion();
// Replaces the placeholders of `sql` for `dialect`.
std::string RenderSql(const std::string& sql, SqlDialect dialect);
// Applies, in one transaction, every migration newer than the database's version.
// FailedPrecondition when the database is newer than this binary knows.
absl::Status RunMigrations(SqlDatabase& db);
// Applies the migrations newer than the database's version up to `target_version` only. For
// tests that build an old-schema database (then open it as a Store to migrate the rest).
absl::Status RunMigrationsUpTo(SqlDatabase& db, int target_version);
// The highest applied version (0 for an empty database).
absl::StatusOr<int> CurrentSchemaVersion(SqlDatabase& db);

}  // namespace lightcone::server::internal

#endif  // LIGHTCONE_SERVER_STORE_SCHEMA_H_
