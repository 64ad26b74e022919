#include "server/store/sqlite_store.h"

#include "core/status_macros.h"
#include "server/store/sql_store.h"
#include "server/store/sqlite_database.h"

namespace lightcone::server {

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options) {
  internal::SqliteDatabaseOptions db_options;
  db_options.path = options.path;
  db_options.synchronous_full = options.synchronous_full;
  db_options.busy_timeout = options.busy_timeout;
  LC_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteDatabase> db,
                      internal::SqliteDatabase::Open(db_options));
  // A second connection for the long aggregate reads (sql_store.h): in WAL mode it reads a
  // committed snapshot while the main connection keeps writing.
  LC_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteDatabase> reader,
                      internal::SqliteDatabase::Open(db_options));
  return internal::SqlStore::Open(std::move(db), std::move(reader));
}

}  // namespace lightcone::server
