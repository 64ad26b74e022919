#include "server/store/postgres_database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace lightcone::server::internal {
namespace {

// Maps a failed result (or a lost connection) to an absl code; see SqlStatement.
absl::Status PostgresError(PGconn* conn, const PGresult* result, const std::string& what) {
  std::string message = absl::StrCat("postgres: ", what, ": ",
                                     result != nullptr ? PQresultErrorMessage(result)
                                                       : PQerrorMessage(conn));
  if (PQstatus(conn) != CONNECTION_OK) return absl::UnavailableError(message);
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const absl::string_view code = state != nullptr ? state : "";
  if (code == "23505") return absl::AlreadyExistsError(message);
  if (code == "23503" || code == "23502" || code == "23514" || code == "22P02") {
    return absl::InvalidArgumentError(message);
  }
  // query_canceled: statement_timeout (SetDeadline); PrepareStreaming's own cancel is drained.
  if (code == "57014") return absl::DeadlineExceededError(message);
  if (code.substr(0, 2) == "08" || code.substr(0, 2) == "57" || code == "40001" ||
      code == "40P01" || code == "53300") {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

// Rewrites `?` placeholders to `$1`, `$2`, ... (the SQL of this module has no `?` in literals).
std::string NumberPlaceholders(const std::string& sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  *count = 0;
  for (char c : sql) {
    if (c == '?') {
      absl::StrAppend(&out, "$", ++*count);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void IgnoreNotice(void*, const char*) {}

class PostgresStatement : public SqlStatement {
 public:
  PostgresStatement(PGconn* conn, std::string name, std::string sql, int params, bool streaming)
      : conn_(conn), name_(std::move(name)), sql_(std::move(sql)), streaming_(streaming),
        values_(params), is_null_(params, true), formats_(params, 0) {}
  ~PostgresStatement() override { Reset(); }

  void BindInt64(int index, int64_t value) override { Set(index, absl::StrCat(value), 0); }
  void BindDouble(int index, double value) override {
    char buffer[64];
    snprintf(buffer, sizeof(buffer), "%.17g", value);
    Set(index, buffer, 0);
  }
  void BindText(int index, const std::string& value) override { Set(index, value, 0); }
  void BindBlob(int index, const std::string& value) override { Set(index, value, 1); }
  void BindNull(int index) override { is_null_[index - 1] = true; }

  absl::StatusOr<bool> Next() override {
    if (streaming_) return NextStreamed();
    if (result_ == nullptr) {
      const BoundParams params = Params();
      const int n = static_cast<int>(params.values.size());
      result_ = PQexecPrepared(conn_, name_.c_str(), n, params.values.data(), params.lengths.data(),
                               formats_.data(), /*resultFormat=*/0);
      const ExecStatusType status = PQresultStatus(result_);
      if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        absl::Status error = PostgresError(conn_, result_, absl::StrCat("running `", sql_, "`"));
        Clear();
        return error;
      }
      row_ = 0;
    } else {
      ++row_;
    }
    return row_ < PQntuples(result_);
  }
  int64_t ColumnInt64(int column) override {
    return std::strtoll(PQgetvalue(result_, row_, column), nullptr, 10);
  }
  double ColumnDouble(int column) override {
    return std::strtod(PQgetvalue(result_, row_, column), nullptr);
  }
  std::string ColumnText(int column) override {
    return std::string(PQgetvalue(result_, row_, column), PQgetlength(result_, row_, column));
  }
  std::string ColumnBlob(int column) override {
    if (PQgetisnull(result_, row_, column)) return "";
    size_t length = 0;
    unsigned char* bytes = PQunescapeBytea(
        reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row_, column)), &length);
    if (bytes == nullptr) return "";
    std::string out(reinterpret_cast<const char*>(bytes), length);
    PQfreemem(bytes);
    return out;
  }
  void Reset() override {
    if (streaming_ && started_ && !done_) {
      // Abandons the rest: asks the server to stop, then reads whatever it still sends. A
      // cancel that arrives after the query ended is ignored by an idle server.
      if (PGcancel* cancel = PQgetCancel(conn_); cancel != nullptr) {
        char error[256];
        (void)PQcancel(cancel, error, sizeof(error));
        PQfreeCancel(cancel);
      }
    }
    Clear();
    if (streaming_ && started_ && !done_) Drain();
    started_ = false;
    done_ = false;
    for (size_t i = 0; i < values_.size(); ++i) {
      is_null_[i] = true;
      formats_[i] = 0;
    }
  }

 private:
  // The bound parameters as libpq takes them (pointers into values_).
  struct BoundParams {
    std::vector<const char*> values;
    std::vector<int> lengths;
  };
  BoundParams Params() const {
    BoundParams p;
    for (size_t i = 0; i < values_.size(); ++i) {
      p.values.push_back(is_null_[i] ? nullptr : values_[i].data());
      p.lengths.push_back(static_cast<int>(values_[i].size()));
    }
    return p;
  }

  // Single-row mode: one PGresult per row (PGRES_SINGLE_TUPLE), then PGRES_TUPLES_OK.
  absl::StatusOr<bool> NextStreamed() {
    if (done_) return false;
    if (!started_) {
      const BoundParams params = Params();
      const int n = static_cast<int>(params.values.size());
      if (PQsendQueryPrepared(conn_, name_.c_str(), n, params.values.data(), params.lengths.data(),
                              formats_.data(), /*resultFormat=*/0) == 0) {
        done_ = true;
        return PostgresError(conn_, nullptr, absl::StrCat("sending `", sql_, "`"));
      }
      started_ = true;
      (void)PQsetSingleRowMode(conn_);
    }
    Clear();
    result_ = PQgetResult(conn_);
    if (result_ == nullptr) {
      done_ = true;
      return false;
    }
    const ExecStatusType status = PQresultStatus(result_);
    if (status == PGRES_SINGLE_TUPLE) {
      row_ = 0;
      return true;
    }
    absl::Status error = absl::OkStatus();
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      error = PostgresError(conn_, result_, absl::StrCat("running `", sql_, "`"));
    }
    Clear();
    Drain();
    done_ = true;
    if (!error.ok()) return error;
    return false;
  }
  void Drain() {
    while (PGresult* rest = PQgetResult(conn_)) PQclear(rest);
  }
  void Set(int index, std::string value, int format) {
    values_[index - 1] = std::move(value);
    is_null_[index - 1] = false;
    formats_[index - 1] = format;
  }
  void Clear() {
    if (result_ != nullptr) PQclear(result_);
    result_ = nullptr;
  }

  PGconn* conn_;
  std::string name_;
  std::string sql_;
  const bool streaming_;
  bool started_ = false;  // Streaming: the query was sent.
  bool done_ = false;     // Streaming: its last result was read.
  std::vector<std::string> values_;
  std::vector<bool> is_null_;
  std::vector<int> formats_;
  PGresult* result_ = nullptr;
  int row_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresDatabase>> PostgresDatabase::Open(
    const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    absl::Status status = absl::UnavailableError(absl::StrCat(
        "postgres: cannot connect: ", conn != nullptr ? PQerrorMessage(conn) : "out of memory"));
    PQfinish(conn);
    return status;
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  std::unique_ptr<PostgresDatabase> db(new PostgresDatabase(conn));
  absl::Status status = db->ExecScript("SET client_min_messages = warning");
  if (!status.ok()) return status;
  return db;
}

PostgresDatabase::~PostgresDatabase() {
  streaming_statements_.clear();
  statements_.clear();
  PQfinish(conn_);
}

absl::Status PostgresDatabase::ExecScript(const std::string& sql) {
  PGresult* result = PQexec(conn_, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  absl::Status out = absl::OkStatus();
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    out = PostgresError(conn_, result, absl::StrCat("running `", sql.substr(0, 200), "`"));
  }
  PQclear(result);
  return out;
}

absl::StatusOr<SqlStatement*> PostgresDatabase::Prepare(const std::string& sql) {
  return PrepareCached(sql, /*streaming=*/false);
}

absl::StatusOr<SqlStatement*> PostgresDatabase::PrepareStreaming(const std::string& sql) {
  return PrepareCached(sql, /*streaming=*/true);
}

absl::Status PostgresDatabase::SetDeadline(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return ExecScript("SET statement_timeout = 0");
  // statement_timeout 0 means none: a deadline already past still gets 1 ms.
  const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()));
  return ExecScript(absl::StrCat("SET statement_timeout = ", ms));
}

absl::StatusOr<SqlStatement*> PostgresDatabase::PrepareCached(const std::string& sql,
                                                              bool streaming) {
  std::map<std::string, std::unique_ptr<SqlStatement>>& statements =
      streaming ? streaming_statements_ : statements_;
  auto it = statements.find(sql);
  if (it != statements.end()) {
    it->second->Reset();
    return it->second.get();
  }
  int params = 0;
  const std::string numbered = NumberPlaceholders(sql, &params);
  const std::string name =
      absl::StrCat("lc_", statements_.size() + streaming_statements_.size() + 1);
  PGresult* result = PQprepare(conn_, name.c_str(), numbered.c_str(), 0, nullptr);
  if (PQresultStatus(result) != PGRES_COMMAND_OK) {
    absl::Status status = PostgresError(conn_, result, absl::StrCat("preparing `", sql, "`"));
    PQclear(result);
    return status;
  }
  PQclear(result);
  auto [inserted, unused] = statements.emplace(
      sql, std::make_unique<PostgresStatement>(conn_, name, sql, params, streaming));
  return inserted->second.get();
}

absl::Status PostgresDatabase::Begin() { return ExecScript("BEGIN"); }

}  // namespace lightcone::server::internal
