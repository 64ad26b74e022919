// A real, throw-away PostgreSQL server for tests and benchmarks: initdb into a fresh temporary
// directory, then postgres listening only on a unix socket in that directory (no TCP port, so
// parallel test binaries never collide). When the process runs as root the server runs as the
// `postgres` user (PostgreSQL refuses root) through runuser. The binaries are looked up in
// $LIGHTCONE_PG_BINDIR, then /usr/lib/postgresql/<newest>/bin, then PATH.
#ifndef LIGHTCONE_SERVER_STORE_TESTING_PG_TEST_SERVER_H_
#define LIGHTCONE_SERVER_STORE_TESTING_PG_TEST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace lightcone::server::testing {

struct PgTestServerOptions {
  // fsync=off makes tests fast; benchmarks that measure durable commits keep it on.
  bool fsync = false;
};

class PgTestServer {
 public:
  // Starts a server; Unavailable (with the server's log) when it cannot.
  static absl::StatusOr<std::unique_ptr<PgTestServer>> Start(const PgTestServerOptions& options);
  // Stops the server (immediate shutdown) and deletes its directory.
  ~PgTestServer();
  PgTestServer(const PgTestServer&) = delete;
  PgTestServer& operator=(const PgTestServer&) = delete;

  // Creates an empty database with a fresh name; returns its libpq connection string.
  absl::StatusOr<std::string> CreateDatabase();
  // Connection string of an existing database.
  std::string ConnectionString(const std::string& database) const;

 private:
  explicit PgTestServer(std::string dir, std::string bindir, std::string run_as)
      : dir_(std::move(dir)), bindir_(std::move(bindir)), run_as_(std::move(run_as)) {}

  std::string dir_;
  std::string bindir_;
  std::string run_as_;  // "runuser -u postgres -- " when root, else empty.
  bool running_ = false;
  int databases_ = 0;
};

// The server shared by every test of this process: started on first use (with default
// options), stopped when the process exits normally.
absl::StatusOr<PgTestServer*> SharedPgTestServer();

}  // namespace lightcone::server::testing

#endif  // LIGHTCONE_SERVER_STORE_TESTING_PG_TEST_SERVER_H_
