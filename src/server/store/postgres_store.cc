#include "server/store/postgres_store.h"

#include "core/status_macros.h"
#include "server/store/postgres_database.h"
#include "server/store/sql_store.h"

namespace lightcone::server {

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options) {
  LC_ASSIGN_OR_RETURN(std::unique_ptr<internal::PostgresDatabase> db,
                      internal::PostgresDatabase::Open(options.conninfo));
  // Pins the session to UTC and a synchronous commit whatever the server's defaults are.
  LC_RETURN_IF_ERROR(db->ExecScript("SET TIME ZONE 'UTC'; SET synchronous_commit = on"));
  return internal::SqlStore::Open(std::move(db));
}

}  // namespace lightcone::server
