// `lightcone`: the command-line front end. Only this file and the subcommand files parse
// flags; libraries take Options structs.
#include <cstdio>

#include "CLI/CLI.hpp"
#include "cli/commands.h"
#include "core/logging.h"

int main(int argc, char** argv) {
  CLI::App app{"Lightcone: prove where data-center GPUs are"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn, error or off")->capture_default_str();
  app.parse_complete_callback([&] { lightcone::SetLogLevel(log_level); });

  int exit_code = 0;
  lightcone::cli::AddLocateCommand(app, &exit_code);
  lightcone::cli::AddAttestCommand(app, &exit_code);
  lightcone::cli::AddLandmarkCommand(app, &exit_code);
  lightcone::cli::AddNetemCommand(app, &exit_code);
#ifdef LIGHTCONE_HAVE_SERVER_COMMAND
  lightcone::cli::AddServerCommand(app, &exit_code);
#endif
#ifdef LIGHTCONE_HAVE_LICENSE_COMMAND
  lightcone::cli::AddLicenseCommand(app, &exit_code);
#endif
#ifdef LIGHTCONE_HAVE_REPORT_COMMAND
  lightcone::cli::AddReportCommand(app, &exit_code);
#endif
#ifdef LIGHTCONE_HAVE_DEMO_COMMAND
  lightcone::cli::AddDemoCommand(app, &exit_code);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
