#include "figures.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "nlohmann/json.hpp"

namespace lightcone::bench {

void ReportFigure(const std::string& name, double value, const std::string& unit,
                  bool higher_is_better) {
  nlohmann::json j = {{"name", name}, {"value", value}, {"unit", unit},
                      {"higher_is_better", higher_is_better}};
  const char* path = std::getenv("LIGHTCONE_FIGURES");
  if (path == nullptr || *path == '\0') {
    std::cout << "figure " << j.dump() << std::endl;
    return;
  }
  std::ofstream out(path, std::ios::app);
  out << j.dump() << '\n';
}

}  // namespace lightcone::bench
