#include "server/http/token_auth.h"

#include <sodium.h>

#include <array>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/crypto.h"

namespace lightcone::server::http {

std::string HashTokenSecret(const std::string& secret) {
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const uint8_t*>(secret.data()),
                     secret.size());
  return crypto::HexEncode(digest);
}

std::string GenerateTokenSecret() {
  std::array<uint8_t, kTokenSecretBytes> bytes;
  crypto::RandomBytes(bytes);
  return absl::StrCat(kTokenPrefix, crypto::HexEncode(bytes));
}

TokenAuthenticator::TokenAuthenticator(Store* store, TokenAuthOptions options)
    : store_(store), options_(options) {}

absl::StatusOr<Principal> TokenAuthenticator::Authenticate(const std::string& header) {
  constexpr absl::string_view kBearer = "Bearer ";
  if (header.empty()) {
    return absl::UnauthenticatedError("missing Authorization: Bearer <token> header");
  }
  if (header.size() > kMaxTokenBytes + kBearer.size() ||
      !absl::StartsWithIgnoreCase(header, kBearer)) {
    return absl::UnauthenticatedError("Authorization header is not 'Bearer <token>'");
  }
  const std::string secret = header.substr(kBearer.size());
  if (secret.empty()) return absl::UnauthenticatedError("empty bearer token");
  const std::string hash = HashTokenSecret(secret);
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && now - it->second.fetched_at < options_.cache_ttl) {
      if (it->second.revoked) return absl::UnauthenticatedError("token revoked");
      return it->second.principal;
    }
  }
  absl::StatusOr<ApiToken> token = store_->GetTokenBySecretHash(hash);
  if (absl::IsNotFound(token.status())) return absl::UnauthenticatedError("unknown token");
  if (!token.ok()) return token.status();
  Entry entry;
  entry.principal.token_id = token->id;
  entry.principal.name = token->name;
  entry.principal.role = token->role;
  entry.principal.organization_id = token->organization_id;
  entry.principal.landmark_id = token->landmark_id;
  entry.revoked = token->revoked;
  entry.fetched_at = now;
  {
    absl::MutexLock lock(&mu_);
    if (cache_.size() >= kMaxCachedTokens) cache_.clear();
    cache_[hash] = entry;
  }
  if (entry.revoked) return absl::UnauthenticatedError("token revoked");
  return entry.principal;
}

void TokenAuthenticator::InvalidateAll() {
  absl::MutexLock lock(&mu_);
  cache_.clear();
}

}  // namespace lightcone::server::http
