#include "server/store/sqlite_database.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace lightcone::server::internal {
namespace {

absl::Status SqliteError(sqlite3* db, int rc, const std::string& what) {
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string message = absl::StrCat("sqlite: ", what, ": ",
                                     db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (extended) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return absl::AlreadyExistsError(message);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_CHECK:
      return absl::InvalidArgumentError(message);
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_INTERRUPT:  // Only SetDeadline's progress handler interrupts.
      return absl::DeadlineExceededError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

class SqliteStatement : public SqlStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, std::string sql)
      : db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  void BindInt64(int index, int64_t value) override { sqlite3_bind_int64(stmt_, index, value); }
  void BindDouble(int index, double value) override { sqlite3_bind_double(stmt_, index, value); }
  void BindText(int index, const std::string& value) override {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
  void BindBlob(int index, const std::string& value) override {
    sqlite3_bind_blob(stmt_, index, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
  void BindNull(int index) override { sqlite3_bind_null(stmt_, index); }

  absl::StatusOr<bool> Next() override {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    absl::Status status = SqliteError(db_, rc, absl::StrCat("running `", sql_, "`"));
    sqlite3_reset(stmt_);
    return status;
  }
  int64_t ColumnInt64(int column) override { return sqlite3_column_int64(stmt_, column); }
  double ColumnDouble(int column) override { return sqlite3_column_double(stmt_, column); }
  std::string ColumnText(int column) override {
    const auto* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return "";
    return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
  }
  std::string ColumnBlob(int column) override {
    const void* blob = sqlite3_column_blob(stmt_, column);
    if (blob == nullptr) return "";
    return std::string(static_cast<const char*>(blob), sqlite3_column_bytes(stmt_, column));
  }
  void Reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(
    const SqliteDatabaseOptions& options) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(options.path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("sqlite: cannot open ", options.path, ": ", sqlite3_errstr(rc)));
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<SqliteDatabase> database(new SqliteDatabase(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  absl::Status status = database->ExecScript(absl::StrCat(
      "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=",
      options.synchronous_full ? "FULL" : "NORMAL", ";"));
  if (!status.ok()) return status;
  return database;
}

SqliteDatabase::~SqliteDatabase() {
  statements_.clear();
  sqlite3_close(db_);
}

absl::Status SqliteDatabase::ExecScript(const std::string& sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    sqlite3_free(error);
    return SqliteError(db_, rc, absl::StrCat("running `", sql.substr(0, 200), "`"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SqlStatement*> SqliteDatabase::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteError(db_, rc, absl::StrCat("preparing `", sql, "`"));
  }
  auto [inserted, unused] =
      statements_.emplace(sql, std::make_unique<SqliteStatement>(db_, stmt, sql));
  return inserted->second.get();
}

// The virtual machine instructions between two deadline checks (a few microseconds).
constexpr int kDeadlineCheckInstructions = 10'000;

int SqliteDatabase::InterruptWhenPastDeadline(void* database) {
  return absl::Now() >= static_cast<SqliteDatabase*>(database)->deadline_ ? 1 : 0;
}

absl::Status SqliteDatabase::SetDeadline(absl::Time deadline) {
  deadline_ = deadline;
  if (deadline == absl::InfiniteFuture()) {
    sqlite3_progress_handler(db_, 0, nullptr, nullptr);
  } else {
    sqlite3_progress_handler(db_, kDeadlineCheckInstructions, &InterruptWhenPastDeadline, this);
  }
  return absl::OkStatus();
}

absl::Status SqliteDatabase::Begin() { return ExecScript("BEGIN IMMEDIATE"); }

}  // namespace lightcone::server::internal
