// Placeholder until the attest subcommand lands (see the open issues).
#include <cstdio>

#include "cli/commands.h"

namespace lightcone::cli {

void AddAttestCommand(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("attest", "(not built yet)");
  sub->allow_extras();
  sub->callback([exit_code] {
    std::fprintf(stderr, "lightcone attest: not built yet\n");
    *exit_code = 2;
  });
}

}  // namespace lightcone::cli
