// Opens the SQLite evidence store: one database file in WAL mode, schema migrated at open.
// Durability: synchronous=FULL by default, so IngestMeasurements returns only after its COMMIT
// is fsynced; a measurement acknowledged to a client survives kill -9 and power loss
// (docs/store.md).
#ifndef LIGHTCONE_SERVER_STORE_SQLITE_STORE_H_
#define LIGHTCONE_SERVER_STORE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/store.h"

namespace lightcone::server {

struct SqliteStoreOptions {
  std::string path;  // Database file; created when missing.
  // false selects synchronous=NORMAL: still safe against kill -9, not against power loss.
  bool synchronous_full = true;
  // How long a write waits for another process holding the write lock.
  absl::Duration busy_timeout = absl::Seconds(10);
};

// Unavailable when the file cannot be opened; FailedPrecondition when its schema is newer than
// this binary.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options);

}  // namespace lightcone::server

#endif  // LIGHTCONE_SERVER_STORE_SQLITE_STORE_H_
