#include "attest/dice_tcb_info.h"

#include <algorithm>
#include <cassert>

#include "absl/status/status.h"
#include "attest/internal/der.h"
#include "attest/spdm_report.h"
#include "core/status_macros.h"

namespace lightcone::attest {
namespace {

using internal::DerElement;
using internal::DerReader;

constexpr uint8_t kFwidListTag = 0xA6;  // [6] IMPLICIT, constructed

// If `e` is an FWID (SEQUENCE { OID, OCTET STRING }) with SHA-384, stores its digest.
absl::StatusOr<bool> TryFwid(const DerElement& e, std::vector<uint8_t>& digest) {
  if (e.tag != internal::kDerSequence) return false;
  // A SEQUENCE of another shape (e.g. the device SubjectPublicKeyInfo) is not an FWID.
  DerReader r(e.content);
  auto alg = r.Next();
  if (!alg.ok() || alg->tag != internal::kDerOid || r.done()) return false;
  auto value = r.Next();
  if (!value.ok() || value->tag != internal::kDerOctetString || !r.done()) return false;
  const auto sha384 = internal::Sha384OidContent();
  if (!std::equal(alg->content.begin(), alg->content.end(), sha384.begin(), sha384.end())) {
    return false;
  }
  if (value->content.size() != kSha384Bytes) {
    return absl::InvalidArgumentError("TcbInfo SHA-384 FWID digest is not 48 bytes");
  }
  digest.assign(value->content.begin(), value->content.end());
  return true;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> ParseDiceTcbInfoFwid(absl::Span<const uint8_t> der) {
  DerReader outer(der);
  LC_ASSIGN_OR_RETURN(DerElement tcb, outer.Next());
  if (tcb.tag != internal::kDerSequence || !outer.done()) {
    return absl::InvalidArgumentError("TcbInfo extension is not a single DER SEQUENCE");
  }
  std::vector<uint8_t> digest;
  DerReader fields(tcb.content);
  while (!fields.done()) {
    LC_ASSIGN_OR_RETURN(DerElement f, fields.Next());
    if (f.tag == kFwidListTag) {
      DerReader list(f.content);
      while (!list.done()) {
        LC_ASSIGN_OR_RETURN(DerElement fwid, list.Next());
        LC_ASSIGN_OR_RETURN(bool found, TryFwid(fwid, digest));
        if (found) return digest;
      }
      continue;
    }
    LC_ASSIGN_OR_RETURN(bool found, TryFwid(f, digest));
    if (found) return digest;
  }
  return absl::NotFoundError("TcbInfo extension holds no SHA-384 FWID");
}

std::vector<uint8_t> EncodeNvidiaTcbInfo(absl::Span<const uint8_t> device_spki_der,
                                         absl::Span<const uint8_t> fwid) {
  assert(fwid.size() == kSha384Bytes);
  std::vector<uint8_t> body;
  const uint8_t version[] = {0x01};
  internal::DerAppend(internal::kDerInteger, version, body);
  body.insert(body.end(), device_spki_der.begin(), device_spki_der.end());
  std::vector<uint8_t> fwid_seq;
  internal::DerAppend(internal::kDerOid, internal::Sha384OidContent(), fwid_seq);
  internal::DerAppend(internal::kDerOctetString, fwid, fwid_seq);
  internal::DerAppend(internal::kDerSequence, fwid_seq, body);
  return internal::DerEncode(internal::kDerSequence, body);
}

std::vector<uint8_t> EncodeTcgTcbInfo(const std::string& vendor, const std::string& model,
                                      absl::Span<const uint8_t> fwid) {
  assert(fwid.size() == kSha384Bytes);
  std::vector<uint8_t> body;
  auto text = [](const std::string& s) {
    return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  internal::DerAppend(0x80, text(vendor), body);  // [0] IMPLICIT UTF8String
  internal::DerAppend(0x81, text(model), body);   // [1] IMPLICIT UTF8String
  std::vector<uint8_t> fwid_seq;
  internal::DerAppend(internal::kDerOid, internal::Sha384OidContent(), fwid_seq);
  internal::DerAppend(internal::kDerOctetString, fwid, fwid_seq);
  std::vector<uint8_t> list;
  internal::DerAppend(internal::kDerSequence, fwid_seq, list);
  internal::DerAppend(kFwidListTag, list, body);
  return internal::DerEncode(internal::kDerSequence, body);
}

}  // namespace lightcone::attest
