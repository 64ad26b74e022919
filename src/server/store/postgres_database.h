// SqlDatabase over one PostgreSQL connection (libpq). Statements are prepared server-side on
// first use; parameters go as text except raw bytes (binary bytea); results come back as text.
#ifndef LIGHTCONE_SERVER_STORE_POSTGRES_DATABASE_H_
#define LIGHTCONE_SERVER_STORE_POSTGRES_DATABASE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/store/sql_database.h"

typedef struct pg_conn PGconn;

namespace lightcone::server::internal {

class PostgresDatabase : public SqlDatabase {
 public:
  // `conninfo` is a libpq connection string ("host=/tmp/x dbname=lightcone") or URI.
  // Unavailable when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<PostgresDatabase>> Open(const std::string& conninfo);
  ~PostgresDatabase() override;

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }
  absl::Status ExecScript(const std::string& sql) override;
  absl::StatusOr<SqlStatement*> Prepare(const std::string& sql) override;
  absl::StatusOr<SqlStatement*> PrepareStreaming(const std::string& sql) override;
  absl::Status SetDeadline(absl::Time deadline) override;
  absl::Status Begin() override;

 private:
  explicit PostgresDatabase(PGconn* conn) : conn_(conn) {}
  absl::StatusOr<SqlStatement*> PrepareCached(const std::string& sql, bool streaming);
  PGconn* conn_;
  std::map<std::string, std::unique_ptr<SqlStatement>> statements_;
  std::map<std::string, std::unique_ptr<SqlStatement>> streaming_statements_;
};

}  // namespace lightcone::server::internal

#endif  // LIGHTCONE_SERVER_STORE_POSTGRES_DATABASE_H_
