// Opens the PostgreSQL evidence store (libpq): same schema, migrations and semantics as the
// SQLite store. Durability: the server's default synchronous_commit=on, so IngestMeasurements
// returns only after its COMMIT is flushed to the server's WAL (docs/store.md).
#ifndef LIGHTCONE_SERVER_STORE_POSTGRES_STORE_H_
#define LIGHTCONE_SERVER_STORE_POSTGRES_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/store/store.h"

namespace lightcone::server {

struct PostgresStoreOptions {
  // libpq connection string or URI, e.g. "host=/run/postgresql dbname=lightcone".
  std::string conninfo;
};

// Unavailable when the server cannot be reached; FailedPrecondition when the database's schema
// is newer than this binary.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options);

}  // namespace lightcone::server

#endif  // LIGHTCONE_SERVER_STORE_POSTGRES_STORE_H_
