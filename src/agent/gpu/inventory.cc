#include "agent/gpu/inventory.h"

#include <sodium.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <limits.h>

#include "absl/strings/ascii.h"

namespace lightcone::agent {
namespace {

constexpr size_t kMaxMachineIdBytes = 256;

template <typename T>
void PutIf(nlohmann::json& j, const char* key, const std::optional<T>& value) {
  if (value.has_value()) j[key] = *value;
}

void PutIf(nlohmann::json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

}  // namespace

std::string ArchitectureName(unsigned int nvml_architecture) {
  switch (nvml_architecture) {
    case 2: return "kepler";
    case 3: return "maxwell";
    case 4: return "pascal";
    case 5: return "volta";
    case 6: return "turing";
    case 7: return "ampere";
    case 8: return "ada";
    case 9: return "hopper";
    case 10: return "blackwell";
    default: return "";
  }
}

nlohmann::json InventoryToJson(const Inventory& inventory) {
  const HostInventory& h = inventory.host;
  nlohmann::json host = nlohmann::json::object();
  PutIf(host, "hostname", h.hostname);
  PutIf(host, "machine_id", h.machine_id);
  PutIf(host, "kernel_release", h.kernel_release);
  PutIf(host, "kernel_version", h.kernel_version);
  PutIf(host, "driver_version", h.driver_version);
  PutIf(host, "cuda_driver_version", h.cuda_driver_version);
  PutIf(host, "nvml_version", h.nvml_version);
  nlohmann::json cc = nlohmann::json::object();
  PutIf(cc, "environment", h.cc_environment);
  PutIf(cc, "enabled", h.cc_enabled);
  PutIf(cc, "devtools_mode", h.cc_devtools_mode);
  if (!cc.empty()) host["confidential_computing"] = cc;

  nlohmann::json gpus = nlohmann::json::array();
  for (const GpuInventory& g : inventory.gpus) {
    nlohmann::json j = nlohmann::json::object();
    j["index"] = g.index;
    if (g.lost) j["lost"] = true;
    PutIf(j, "uuid", g.uuid);
    PutIf(j, "serial", g.serial);
    PutIf(j, "name", g.name);
    PutIf(j, "architecture", g.architecture);
    PutIf(j, "board_part_number", g.board_part_number);
    PutIf(j, "board_id", g.board_id);
    PutIf(j, "pci_bus_id", g.pci_bus_id);
    PutIf(j, "pci_device_id", g.pci_device_id);
    PutIf(j, "pci_subsystem_id", g.pci_subsystem_id);
    PutIf(j, "vbios_version", g.vbios_version);
    PutIf(j, "inforom_version", g.inforom_version);
    PutIf(j, "minor_number", g.minor_number);
    nlohmann::json links = nlohmann::json::array();
    for (const NvLinkInfo& l : g.nvlinks) {
      nlohmann::json lj = {{"link", l.link}, {"active", l.active}};
      PutIf(lj, "remote_pci_bus_id", l.remote_pci_bus_id);
      links.push_back(std::move(lj));
    }
    j["nvlinks"] = std::move(links);
    gpus.push_back(std::move(j));
  }
  return {{"host", std::move(host)}, {"gpus", std::move(gpus)}};
}

std::string InventoryHash(const Inventory& inventory) {
  const std::string canonical = InventoryToJson(inventory).dump();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(canonical.data()),
                     canonical.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  return std::string("sha256:") + hex;
}

HostInventory ReadHostFacts(const std::string& machine_id_path) {
  HostInventory host;
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) == 0) host.hostname = name;
  std::ifstream in(machine_id_path);
  if (in) {
    std::string id(kMaxMachineIdBytes, '\0');
    in.read(id.data(), static_cast<std::streamsize>(id.size()));
    id.resize(static_cast<size_t>(in.gcount()));
    host.machine_id = std::string(absl::StripAsciiWhitespace(id));
  }
  struct utsname u;
  if (uname(&u) == 0) {
    host.kernel_release = u.release;
    host.kernel_version = u.version;
  }
  return host;
}

}  // namespace lightcone::agent
