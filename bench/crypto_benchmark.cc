// Ed25519 sign and verify per core: libsodium (what Lightcone uses, src/core/crypto.h) and,
// for comparison, OpenSSL's EVP interface, on a message the size of a signed reply.
//
// Headline figures (bench/figures.h), per core, from the thread's CPU time (so that other
// load on the machine does not lower them):
//   crypto_ed25519_verify_per_core_per_s          libsodium crypto_sign_verify_detached
//   crypto_ed25519_sign_per_core_per_s            libsodium crypto_sign_detached
//   crypto_openssl_ed25519_verify_per_core_per_s  OpenSSL EVP_DigestVerify (one-shot)
// The first bounds server ingest: every stored measurement costs one verification, so a
// server with N cores verifies at most N times this many measurements per second.
#include <openssl/evp.h>
#include <time.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/crypto.h"
#include "figures.h"

namespace lightcone {
namespace {

// The signed part of a reply (domain tag, ids, nonce, sequence, key id) is about this long.
constexpr size_t kMessageBytes = 120;

struct Fixture {
  Fixture() : key(*crypto::SigningKey::Generate()) {
    crypto::RandomBytes(message);
    key.Sign(message, &signature);
  }
  crypto::SigningKey key;
  std::array<uint8_t, kMessageBytes> message{};
  crypto::Signature signature{};
};

bool OpenSslVerify(EVP_PKEY* pkey, const Fixture& f) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, f.signature.data(), f.signature.size(), f.message.data(),
                             f.message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

void BM_Ed25519Verify(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::VerifySignature(f.key.public_key(), f.message, f.signature));
  }
}
BENCHMARK(BM_Ed25519Verify);

void BM_Ed25519Sign(benchmark::State& state) {
  Fixture f;
  crypto::Signature out;
  for (auto _ : state) {
    f.key.Sign(f.message, &out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Ed25519Sign);

void BM_OpenSslEd25519Verify(benchmark::State& state) {
  Fixture f;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                               f.key.public_key().data(),
                                               f.key.public_key().size());
  for (auto _ : state) benchmark::DoNotOptimize(OpenSslVerify(pkey, f));
  EVP_PKEY_free(pkey);
}
BENCHMARK(BM_OpenSslEd25519Verify);

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Operations per CPU-second of `op` over `count` calls; -1 if any call failed.
double PerCpuSecond(int count, const std::function<bool()>& op) {
  const double start = ThreadCpuSeconds();
  for (int i = 0; i < count; ++i) {
    if (!op()) return -1;
  }
  return count / (ThreadCpuSeconds() - start);
}

void ReportFigures() {
  Fixture f;
  constexpr int kCalls = 20000;
  const double verify = PerCpuSecond(
      kCalls, [&] { return crypto::VerifySignature(f.key.public_key(), f.message, f.signature); });
  crypto::Signature out;
  const double sign = PerCpuSecond(kCalls, [&] {
    f.key.Sign(f.message, &out);
    return true;
  });
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                               f.key.public_key().data(),
                                               f.key.public_key().size());
  const double openssl_verify = PerCpuSecond(kCalls, [&] { return OpenSslVerify(pkey, f); });
  EVP_PKEY_free(pkey);
  std::fprintf(stderr,
               "per CPU-second: libsodium verify %.0f (%.1f us), sign %.0f (%.1f us); "
               "OpenSSL verify %.0f (%.1f us)\n",
               verify, 1e6 / verify, sign, 1e6 / sign, openssl_verify, 1e6 / openssl_verify);
  bench::ReportFigure("crypto_ed25519_verify_per_core_per_s", verify, "verifications/s", true);
  bench::ReportFigure("crypto_ed25519_sign_per_core_per_s", sign, "signatures/s", true);
  bench::ReportFigure("crypto_openssl_ed25519_verify_per_core_per_s", openssl_verify,
                      "verifications/s", true);
}

}  // namespace
}  // namespace lightcone

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  lightcone::ReportFigures();
  return 0;
}
