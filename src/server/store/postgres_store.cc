#include "server/store/postgres_store.h"

#include "core/status_macros.h"
#include "server/store/postgres_database.h"
#include "server/store/sql_store.h"

namespace lightcone::server {

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options) {
  // Two sessions: the main one and a reader for the long aggregate reads (sql_store.h).
  std::unique_ptr<internal::PostgresDatabase> sessions[2];
  for (auto& session : sessions) {
    LC_ASSIGN_OR_RETURN(session, internal::PostgresDatabase::Open(options.conninfo));
    // Pins the session to UTC and a synchronous commit whatever the server's defaults are.
    LC_RETURN_IF_ERROR(session->ExecScript("SET TIME ZONE 'UTC'; SET synchronous_commit = on"));
  }
  return internal::SqlStore::Open(std::move(sessions[0]), std::move(sessions[1]));
}

}  // namespace lightcone::server
