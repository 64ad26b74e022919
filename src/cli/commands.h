// The `lightcone` subcommands. Each Add*Command registers one subcommand on `app`; when
// it runs, its exit status is written to `*exit_code` (0 ok, 1 a negative result such as
// invalid evidence, 2 bad input or usage).
#ifndef LIGHTCONE_CLI_COMMANDS_H_
#define LIGHTCONE_CLI_COMMANDS_H_

#include "CLI/CLI.hpp"

namespace lightcone::cli {

void AddLocateCommand(CLI::App& app, int* exit_code);
void AddAttestCommand(CLI::App& app, int* exit_code);
void AddLandmarkCommand(CLI::App& app, int* exit_code);
void AddNetemCommand(CLI::App& app, int* exit_code);
// Fleet server commands; each is compiled in when its source file exists (src/cli/CMakeLists.txt).
void AddServerCommand(CLI::App& app, int* exit_code);   // server_command.cc
void AddLicenseCommand(CLI::App& app, int* exit_code);  // license_command.cc
void AddReportCommand(CLI::App& app, int* exit_code);   // report_command.cc
void AddDemoCommand(CLI::App& app, int* exit_code);     // demo_command.cc

}  // namespace lightcone::cli

#endif  // LIGHTCONE_CLI_COMMANDS_H_
