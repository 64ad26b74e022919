#include <cstdio>

#include "cli/commands.h"

namespace lightcone::cli {

void AddLocateCommand(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand("locate", "(not built yet)");
  sub->allow_extras();
  sub->callback([exit_code] { *exit_code = 2; });
}

}  // namespace lightcone::cli
