#include "agent/server_messages.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace lightcone::agent {
namespace {

using nlohmann::json;

absl::Status FieldError(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("enroll answer: ", field, ": ", why));
}

}  // namespace

std::string ArchitectureDisplayName(absl::string_view nvml_name) {
  if (nvml_name.empty()) return "";
  std::string out(nvml_name);
  out[0] = absl::ascii_toupper(static_cast<unsigned char>(out[0]));
  return out;
}

std::vector<EnrollDevice> EnrollDevicesFromInventory(const Inventory& inventory) {
  std::map<std::string, std::string> uuid_by_bus;
  for (const GpuInventory& g : inventory.gpus) {
    if (!g.uuid.empty() && !g.pci_bus_id.empty()) {
      uuid_by_bus[absl::AsciiStrToLower(g.pci_bus_id)] = g.uuid;
    }
  }
  std::vector<EnrollDevice> out;
  for (const GpuInventory& g : inventory.gpus) {
    if (g.lost || g.uuid.empty()) continue;
    EnrollDevice d;
    d.uuid = g.uuid;
    d.serial = g.serial;
    d.model = g.name;
    d.architecture = ArchitectureDisplayName(g.architecture);
    d.vbios = g.vbios_version;
    d.pci_bus_id = g.pci_bus_id;
    for (const NvLinkInfo& link : g.nvlinks) {
      if (!link.active || link.remote_pci_bus_id.empty()) continue;
      auto it = uuid_by_bus.find(absl::AsciiStrToLower(link.remote_pci_bus_id));
      if (it != uuid_by_bus.end() && it->second != g.uuid) d.nvlink_peers.push_back(it->second);
    }
    std::sort(d.nvlink_peers.begin(), d.nvlink_peers.end());
    d.nvlink_peers.erase(std::unique(d.nvlink_peers.begin(), d.nvlink_peers.end()),
                         d.nvlink_peers.end());
    out.push_back(std::move(d));
  }
  return out;
}

std::string EnrollRequestJson(const EnrollRequest& request) {
  json devices = json::array();
  for (const EnrollDevice& d : request.devices) {
    devices.push_back({{"uuid", d.uuid},
                       {"serial", d.serial},
                       {"model", d.model},
                       {"architecture", d.architecture},
                       {"vbios", d.vbios},
                       {"pci_bus_id", d.pci_bus_id},
                       {"ueid", d.ueid},
                       {"nvlink_peers", d.nvlink_peers}});
  }
  return json{{"hostname", request.hostname},
              {"probe_address", request.probe_address},
              {"agent_version", request.agent_version},
              {"site", request.site},
              {"devices", devices}}
      .dump();
}

absl::StatusOr<EnrollResponse> ParseEnrollResponse(absl::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return FieldError("$", "not a JSON object");
  EnrollResponse out;
  if (!j.contains("host_id") || !j["host_id"].is_number_integer()) {
    return FieldError("host_id", "missing or not an integer");
  }
  out.host_id = j["host_id"].get<int64_t>();
  if (!j.contains("devices") || !j["devices"].is_array()) {
    return FieldError("devices", "missing or not an array");
  }
  if (j["devices"].size() > kMaxEnrolledDevices) {
    return FieldError("devices", absl::StrCat("more than ", kMaxEnrolledDevices));
  }
  for (size_t i = 0; i < j["devices"].size(); ++i) {
    const json& d = j["devices"][i];
    std::string where = absl::StrCat("devices[", i, "]");
    if (!d.is_object()) return FieldError(where, "not an object");
    EnrolledDevice device;
    if (!d.contains("uuid") || !d["uuid"].is_string()) {
      return FieldError(absl::StrCat(where, ".uuid"), "missing or not a string");
    }
    device.uuid = d["uuid"].get<std::string>();
    if (!d.contains("id") || !d["id"].is_number_integer()) {
      return FieldError(absl::StrCat(where, ".id"), "missing or not an integer");
    }
    device.id = d["id"].get<int64_t>();
    if (!d.contains("key_binding_nonce") || !d["key_binding_nonce"].is_string()) {
      return FieldError(absl::StrCat(where, ".key_binding_nonce"), "missing or not a string");
    }
    if (absl::Status s =
            crypto::HexDecode(d["key_binding_nonce"].get<std::string>(), device.key_binding_nonce);
        !s.ok()) {
      return FieldError(absl::StrCat(where, ".key_binding_nonce"),
                        absl::StrCat("want 64 hex digits: ", s.message()));
    }
    out.devices.push_back(std::move(device));
  }
  return out;
}

std::string KeyBindingRequestJson(const KeyBindingRequest& request) {
  json j{{"public_key", crypto::HexEncode(request.public_key)},
         {"key_id", crypto::FormatKeyId(request.key_id)},
         {"assurance", request.assurance}};
  if (request.assurance != "L0") {
    j["evidence"] = crypto::HexEncode(request.evidence);
    j["certificates"] = request.certificates;
  }
  return j.dump();
}

std::string TelemetryRequestJson(const std::vector<DeviceHealth>& devices) {
  json list = json::array();
  for (const DeviceHealth& d : devices) {
    json item{{"uuid", d.uuid}, {"time", FormatRfc3339(d.time)}};
    if (d.temperature_c) item["temperature_c"] = *d.temperature_c;
    if (d.power_w) item["power_w"] = *d.power_w;
    if (d.utilization_pct) item["utilization_pct"] = *d.utilization_pct;
    if (d.ecc_uncorrected) item["ecc_uncorrected"] = *d.ecc_uncorrected;
    item["xid_count"] = d.xid_count;
    item["last_xid"] = d.last_xid;
    list.push_back(std::move(item));
  }
  return json{{"devices", list}}.dump();
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace lightcone::agent
