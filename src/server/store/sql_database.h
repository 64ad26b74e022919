// A minimal SQL connection abstraction that SqlStore runs on, with one implementation per
// backend (sqlite_database.h, postgres_database.h). Statements are written once with `?`
// placeholders; the PostgreSQL implementation rewrites them to `$n`. Not thread-safe: the
// owner serializes every call.
#ifndef LIGHTCONE_SERVER_STORE_SQL_DATABASE_H_
#define LIGHTCONE_SERVER_STORE_SQL_DATABASE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace lightcone::server::internal {

enum class SqlDialect { kSqlite, kPostgres };

// A prepared statement. Bind parameters (1-based, every one of them), then call Next() until
// it returns false; columns are 0-based. Errors map to absl codes: unique violation ->
// AlreadyExists; foreign key, not-null or check violation -> InvalidArgument; lost connection
// or busy database -> Unavailable; past the connection's deadline (SqlDatabase::SetDeadline)
// -> DeadlineExceeded; anything else -> Internal.
class SqlStatement {
 public:
  virtual ~SqlStatement() = default;
  virtual void BindInt64(int index, int64_t value) = 0;
  virtual void BindDouble(int index, double value) = 0;
  virtual void BindText(int index, const std::string& value) = 0;
  virtual void BindBlob(int index, const std::string& value) = 0;
  virtual void BindNull(int index) = 0;
  // Executes the statement on the first call; true while a result row is available.
  virtual absl::StatusOr<bool> Next() = 0;
  virtual int64_t ColumnInt64(int column) = 0;  // NULL reads as 0.
  virtual double ColumnDouble(int column) = 0;
  virtual std::string ColumnText(int column) = 0;
  virtual std::string ColumnBlob(int column) = 0;
  // Makes the statement ready to bind and run again.
  virtual void Reset() = 0;
};

class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;
  virtual SqlDialect dialect() const = 0;
  // Runs one or more statements without parameters or results (DDL, BEGIN, COMMIT).
  virtual absl::Status ExecScript(const std::string& sql) = 0;
  // Returns the cached prepared statement for `sql` (prepared on first use), reset. Owned by
  // the database; valid until it is destroyed.
  virtual absl::StatusOr<SqlStatement*> Prepare(const std::string& sql) = 0;
  // Like Prepare, but the rows come from the server one at a time as Next() asks for them
  // instead of the client library holding the whole result (PostgreSQL: single-row mode;
  // SQLite always steps). Reset() before the last row abandons the rest (PostgreSQL cancels
  // the query). No other statement may run on the connection until the statement is done
  // or Reset.
  virtual absl::StatusOr<SqlStatement*> PrepareStreaming(const std::string& sql) = 0;
  // Statements run from now on stop with DeadlineExceeded once `deadline` has passed, also
  // while the server is still working towards their first row (SQLite: a progress handler;
  // PostgreSQL: statement_timeout). absl::InfiniteFuture() (the default) clears it.
  virtual absl::Status SetDeadline(absl::Time deadline) = 0;
  // Starts a write transaction.
  virtual absl::Status Begin() = 0;
};

}  // namespace lightcone::server::internal

#endif  // LIGHTCONE_SERVER_STORE_SQL_DATABASE_H_
