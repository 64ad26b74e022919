// Inventory serialisation and host facts.
//
// The canonical JSON of an inventory has object keys in sorted order, no insignificant
// whitespace, and leaves out fields the hardware did not report; its SHA-256 is the
// inventory hash, which changes whenever anything in the inventory changes (a GPU swapped,
// a VBIOS flashed, an NVLink peer moved).
#ifndef LIGHTCONE_AGENT_GPU_INVENTORY_H_
#define LIGHTCONE_AGENT_GPU_INVENTORY_H_

#include <string>

#include "agent/gpu/gpu_source.h"
#include "nlohmann/json.hpp"

namespace lightcone::agent {

// The inventory as a JSON object: {"host": {...}, "gpus": [{...}, ...]}.
nlohmann::json InventoryToJson(const Inventory& inventory);

// "sha256:<64 hex digits>" over InventoryToJson(inventory).dump().
std::string InventoryHash(const Inventory& inventory);

// Hostname, /etc/machine-id and uname of this host. NVML fields are left empty.
// `machine_id_path` is a parameter so tests can point it elsewhere.
HostInventory ReadHostFacts(const std::string& machine_id_path = "/etc/machine-id");

// "hopper" for NVML_DEVICE_ARCH_HOPPER etc.; "" for unknown codes.
std::string ArchitectureName(unsigned int nvml_architecture);

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_GPU_INVENTORY_H_
