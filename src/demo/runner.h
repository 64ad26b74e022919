// The live demo (`lightcone demo`): the scenario's world played on loopback with real
// processes, time compressed by `speed`.
//
//  - the fleet server in this process (server::Server on SQLite in the work directory, the
//    dashboard from web_root), its directory seeded from the scenario (SeedDirectory), and a
//    FleetMonitor whose thresholds are the scenario's (in scenario seconds) divided by speed;
//  - one `lightcone landmark run` per landmark, with its key, token and server flags;
//  - one `lightcone-agent` per GPU host on the fake NVML library (FAKE_NVML_SCENARIO per
//    host, LD_LIBRARY_PATH at the build's fake_nvml/), enrolling through the API and opening
//    agent-initiated sessions to every landmark;
//  - one `lightcone netem` per host group: one link per (landmark, host) whose one-way delay
//    is the latency model's path delay (through the relay for relayed groups), so each
//    landmark measures its own distance to each host.
// Steps: start spawns a group's agents; go_dark kills them; add_delay and landmark_lies
// restart the netem processes on the same ports with the new delays (a lying landmark's
// links carry rtt_factor times the true delay: it reports less than the path allows).
// The operator assigns licences: devices that enroll are put under their group's licence.
//
// At the end the summary (summary.h) is printed and written; RunDemo returns 0 only when it
// passed, 1 when it did not, 2 on bad input.
#ifndef LIGHTCONE_DEMO_RUNNER_H_
#define LIGHTCONE_DEMO_RUNNER_H_

#include <string>

namespace lightcone::demo {

// Time the world keeps running after the episode's last scheduled second (scenario seconds).
inline constexpr double kLingerScenarioSeconds = 30;

struct RunnerOptions {
  double duration_s = 0;  // Real seconds; 0: the episode's length / speed.
  double speed = 1;       // Scenario seconds per real second.
  std::string scenario_path;  // Empty: the built-in ghost-datacenter.
  std::string summary_out;
  std::string listen = "127.0.0.1:8080";
  std::string web_root;
  std::string work_dir;  // Empty: a fresh temporary directory.
  int gpus = 0;          // 0: the scenario's size.
  int probe_interval_ms = 1000;
};

int RunDemo(const RunnerOptions& options);

}  // namespace lightcone::demo

#endif  // LIGHTCONE_DEMO_RUNNER_H_
