#include "server/http/static_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace lightcone::server::http {
namespace {

namespace fs = std::filesystem;

struct TypeEntry {
  const char* extension;
  const char* content_type;
};
constexpr TypeEntry kContentTypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".geojson", "application/geo+json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".ico", "image/x-icon"},
    {".webp", "image/webp"},
    {".woff", "font/woff"},
    {".woff2", "font/woff2"},
    {".ttf", "font/ttf"},
    {".txt", "text/plain; charset=utf-8"},
    {".csv", "text/csv; charset=utf-8"},
    {".wasm", "application/wasm"},
};

// Reads a regular file inside root_; empty optional when it is not one.
bool ReadRegularFile(const fs::path& path, const std::string& root, std::string* out) {
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(path, ec);
  if (ec) return false;
  const std::string canon = canonical.string();
  if (canon != root && !absl::StartsWith(canon, root + "/")) return false;
  if (!fs::is_regular_file(canonical, ec) || ec) return false;
  const auto size = fs::file_size(canonical, ec);
  if (ec || size > kMaxStaticFileBytes) return false;
  std::ifstream in(canonical, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

std::string ContentTypeForPath(const std::string& path) {
  const std::string lower = absl::AsciiStrToLower(path);
  for (const TypeEntry& entry : kContentTypes) {
    if (absl::EndsWith(lower, entry.extension)) return entry.content_type;
  }
  return "application/octet-stream";
}

absl::StatusOr<StaticFiles> StaticFiles::Create(const std::string& web_root) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(web_root, ec);
  if (ec || !fs::is_directory(canonical, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--web-root ", web_root, ": not a readable directory"));
  }
  return StaticFiles(canonical.string());
}

Response StaticFiles::Serve(const std::string& path) const {
  const Response not_found = ErrorResponse(404, "not_found", absl::StrCat(path, ": not found"));
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos ||
      path.find('\\') != std::string::npos) {
    return not_found;
  }
  fs::path file = root_;
  bool traversal = false;
  for (absl::string_view segment : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (segment == ".." || segment == ".") traversal = true;
    file /= std::string(segment);
  }
  if (traversal) return not_found;
  std::string body;
  std::error_code ec;
  fs::path target = file;
  if (fs::is_directory(target, ec)) target /= "index.html";
  if (ReadRegularFile(target, root_, &body)) {
    Response r = Response::Text(std::move(body), ContentTypeForPath(target.string()));
    if (!absl::EndsWith(target.string(), ".html")) {
      r.headers.emplace_back("Cache-Control", "public, max-age=300");
    } else {
      r.headers.emplace_back("Cache-Control", "no-cache");
    }
    return r;
  }
  // Single-page application: unknown paths without an extension get index.html.
  const std::string last = file.filename().string();
  if (last.find('.') == std::string::npos &&
      ReadRegularFile(fs::path(root_) / "index.html", root_, &body)) {
    Response r = Response::Text(std::move(body), "text/html; charset=utf-8");
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  return not_found;
}

}  // namespace lightcone::server::http
