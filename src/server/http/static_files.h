// Serves the dashboard's built files from a --web-root directory: index.html at "/", the
// right Content-Type per extension, index.html as the fallback for any unknown non-/api
// path (the dashboard is a single-page application that routes in the browser), and no way
// out of the root (".." segments, NUL bytes and symlinks leading outside are refused).
#ifndef LIGHTCONE_SERVER_HTTP_STATIC_FILES_H_
#define LIGHTCONE_SERVER_HTTP_STATIC_FILES_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "server/http/route.h"

namespace lightcone::server::http {

inline constexpr size_t kMaxStaticFileBytes = 64 << 20;

// Content-Type for a file name by its extension; application/octet-stream when unknown.
std::string ContentTypeForPath(const std::string& path);

class StaticFiles {
 public:
  // InvalidArgument when `web_root` is not a readable directory.
  static absl::StatusOr<StaticFiles> Create(const std::string& web_root);

  // The response for GET `path` (already percent-decoded): the file, the SPA fallback, or a
  // 404 error body.
  Response Serve(const std::string& path) const;

 private:
  explicit StaticFiles(std::string root) : root_(std::move(root)) {}
  std::string root_;  // canonical, no trailing slash
};

}  // namespace lightcone::server::http

#endif  // LIGHTCONE_SERVER_HTTP_STATIC_FILES_H_
