// Placeholder until the landmark subcommand lands (see the open issues).
#include <cstdio>

#include "cli/commands.h"

namespace lightcone::cli {

void AddLandmarkCommand(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("landmark", "(not built yet)");
  sub->allow_extras();
  sub->callback([exit_code] {
    std::fprintf(stderr, "lightcone landmark: not built yet\n");
    *exit_code = 2;
  });
}

}  // namespace lightcone::cli
