// SqlDatabase over one SQLite connection (libsqlite3).
#ifndef LIGHTCONE_SERVER_STORE_SQLITE_DATABASE_H_
#define LIGHTCONE_SERVER_STORE_SQLITE_DATABASE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/sql_database.h"

struct sqlite3;

namespace lightcone::server::internal {

struct SqliteDatabaseOptions {
  std::string path;
  // synchronous=FULL: every COMMIT is fsynced before it returns, so an acknowledged write
  // survives kill -9 and power loss. NORMAL (false) survives kill -9 only.
  bool synchronous_full = true;
  absl::Duration busy_timeout = absl::Seconds(10);
};

class SqliteDatabase : public SqlDatabase {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(const SqliteDatabaseOptions& options);
  ~SqliteDatabase() override;

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }
  absl::Status ExecScript(const std::string& sql) override;
  absl::StatusOr<SqlStatement*> Prepare(const std::string& sql) override;
  absl::StatusOr<SqlStatement*> PrepareStreaming(const std::string& sql) override {
    return Prepare(sql);
  }
  absl::Status SetDeadline(absl::Time deadline) override;
  absl::Status Begin() override;

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  static int InterruptWhenPastDeadline(void* database);
  sqlite3* db_;
  absl::Time deadline_ = absl::InfiniteFuture();
  std::map<std::string, std::unique_ptr<SqlStatement>> statements_;
};

}  // namespace lightcone::server::internal

#endif  // LIGHTCONE_SERVER_STORE_SQLITE_DATABASE_H_
