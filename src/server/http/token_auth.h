// Bearer-token authentication for the fleet server (docs/api.md "Auth"). Tokens are stored
// as the hex SHA-256 of their secret (Store::CreateToken / GetTokenBySecretHash); lookups
// are cached in memory for a short time so a busy ingest path does not hit the database per
// request. Revocations made through this process invalidate the cache at once; revocations
// made by another server process sharing the store take effect within `cache_ttl`.
//
// Thread-safe.
#ifndef LIGHTCONE_SERVER_HTTP_TOKEN_AUTH_H_
#define LIGHTCONE_SERVER_HTTP_TOKEN_AUTH_H_

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http/route.h"
#include "server/store/store.h"

namespace lightcone::server::http {

inline constexpr size_t kMaxCachedTokens = 10'000;
inline constexpr size_t kMaxTokenBytes = 256;
inline constexpr size_t kTokenSecretBytes = 32;
inline constexpr char kTokenPrefix[] = "lct_";

struct TokenAuthOptions {
  absl::Duration cache_ttl = absl::Seconds(10);
};

// Hex SHA-256 of a token secret (what the store keeps).
std::string HashTokenSecret(const std::string& secret);
// A fresh random token secret: kTokenPrefix + 64 hex digits.
std::string GenerateTokenSecret();

class TokenAuthenticator {
 public:
  TokenAuthenticator(Store* store, TokenAuthOptions options);

  // The principal for an "Authorization" header value ("Bearer <token>"). Unauthenticated
  // when the header is missing or malformed, the token unknown or revoked.
  absl::StatusOr<Principal> Authenticate(const std::string& authorization_header);

  // Forgets every cached lookup (after a revocation).
  void InvalidateAll();

 private:
  struct Entry {
    Principal principal;
    bool revoked = false;
    absl::Time fetched_at;
  };
  Store* store_;
  TokenAuthOptions options_;
  absl::Mutex mu_;
  std::unordered_map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lightcone::server::http

#endif  // LIGHTCONE_SERVER_HTTP_TOKEN_AUTH_H_
