#include "server/store/testing/pg_test_server.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lightcone::server::testing {
namespace {

constexpr char kUser[] = "lightcone";
constexpr int kSocketPort = 5432;  // Only names the socket file inside the private directory.
constexpr int kStartTimeoutS = 60;

std::string FindBinDir() {
  if (const char* env = std::getenv("LIGHTCONE_PG_BINDIR"); env != nullptr && *env != '\0') {
    return env;
  }
  std::vector<std::filesystem::path> candidates;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    if (std::filesystem::exists(entry.path() / "bin" / "initdb")) {
      candidates.push_back(entry.path() / "bin");
    }
  }
  if (candidates.empty()) return "";  // Rely on PATH.
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return std::atoi(a.parent_path().filename().c_str()) <
           std::atoi(b.parent_path().filename().c_str());
  });
  return candidates.back().string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Tool(const std::string& bindir, const std::string& name) {
  return bindir.empty() ? name : bindir + "/" + name;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgTestServer>> PgTestServer::Start(
    const PgTestServerOptions& options) {
  std::string pattern = std::filesystem::temp_directory_path() / "lightcone-pg-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::UnavailableError("pg_test_server: mkdtemp failed");
  }
  std::string run_as;
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      std::filesystem::remove_all(pattern);
      return absl::UnavailableError(
          "pg_test_server: running as root and there is no `postgres` user to run the server "
          "(install the postgresql package)");
    }
    if (chown(pattern.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      std::filesystem::remove_all(pattern);
      return absl::UnavailableError("pg_test_server: cannot chown the temporary directory");
    }
    run_as = "runuser -u postgres -- ";
  }
  std::unique_ptr<PgTestServer> server(new PgTestServer(pattern, FindBinDir(), run_as));
  const std::string& dir = server->dir_;
  const std::string initdb = absl::StrCat(
      run_as, Tool(server->bindir_, "initdb"), " -D ", dir, "/data -A trust -U ", kUser,
      " -E UTF8 --locale=C --no-sync > ", dir, "/initdb.log 2>&1");
  if (std::system(initdb.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("pg_test_server: `", initdb, "` failed:\n",
                                               ReadFile(dir + "/initdb.log")));
  }
  const std::string start = absl::StrCat(
      run_as, Tool(server->bindir_, "pg_ctl"), " -D ", dir, "/data -l ", dir,
      "/server.log -w -t ", kStartTimeoutS, " -o \"-k ", dir, " -p ", kSocketPort,
      " -c listen_addresses='' -c fsync=", options.fsync ? "on" : "off",
      " -c max_connections=50\" start > ", dir, "/pg_ctl.log 2>&1");
  if (std::system(start.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("pg_test_server: `", start, "` failed:\n",
                                               ReadFile(dir + "/pg_ctl.log"),
                                               ReadFile(dir + "/server.log")));
  }
  server->running_ = true;
  return server;
}

PgTestServer::~PgTestServer() {
  if (running_) {
    const std::string stop = absl::StrCat(run_as_, Tool(bindir_, "pg_ctl"), " -D ", dir_,
                                          "/data -m immediate -w stop > /dev/null 2>&1");
    (void)std::system(stop.c_str());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PgTestServer::ConnectionString(const std::string& database) const {
  return absl::StrCat("host=", dir_, " port=", kSocketPort, " user=", kUser,
                      " dbname=", database);
}

absl::StatusOr<std::string> PgTestServer::CreateDatabase() {
  const std::string name = absl::StrCat("lc_test_", ++databases_);
  PGconn* conn = PQconnectdb(ConnectionString("postgres").c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("pg_test_server: cannot connect: ", PQerrorMessage(conn)));
    PQfinish(conn);
    return status;
  }
  PGresult* result = PQexec(conn, absl::StrCat("CREATE DATABASE ", name).c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string error = ok ? "" : PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(conn);
  if (!ok) {
    return absl::UnavailableError(absl::StrCat("pg_test_server: CREATE DATABASE: ", error));
  }
  return ConnectionString(name);
}

absl::StatusOr<PgTestServer*> SharedPgTestServer() {
  static PgTestServer* server = nullptr;
  static absl::Status* failure = nullptr;
  if (server != nullptr) return server;
  if (failure != nullptr) return *failure;
  auto started = PgTestServer::Start(PgTestServerOptions{});
  if (!started.ok()) {
    failure = new absl::Status(started.status());
    return *failure;
  }
  server = started->release();
  std::atexit([] { delete server; });
  return server;
}

}  // namespace lightcone::server::testing
