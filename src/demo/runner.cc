#include "demo/runner.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/crypto.h"
#include "core/status_macros.h"
#include "demo/builtin_scenario.h"
#include "demo/health_model.h"
#include "demo/seeder.h"
#include "demo/summary.h"
#include "demo/world.h"
#include "nlohmann/json.hpp"
#include "server/api/server.h"
#include "server/fleet/fleet_monitor.h"
#include "server/fleet/region_view.h"

namespace lightcone::demo {
namespace {

namespace fs = std::filesystem;

// Scenario-second thresholds of the live fleet analysis (divided by speed).
constexpr double kVerdictWindowScenarioS = 30;
constexpr double kWentDarkScenarioS = 15;
constexpr double kCohortIntervalScenarioS = 60;
constexpr double kUnprovenGraceScenarioS = 20;
constexpr double kUnlicensedGraceScenarioS = 1e6;  // The demo's operator licenses at once.
// Real seconds between fleet passes / status lines.
constexpr double kPassPeriodS = 1.0;
// SeedOptions::time_scale: real seconds per scenario second of `lightcone demo seed`.
constexpr double kSeedTimeScale = 600;
constexpr double kLiveMaxTravelKmh = 1e15;
// Landmarks sign and upload a batch of min RTTs this often.
constexpr int kBatchWindowMs = 2000;
constexpr double kStatusPeriodS = 10.0;
// Health for the dashboard's charts: agents report every kTelemetryIntervalS real seconds
// and the server keeps each report as a sample (kTelemetrySampleIntervalS); the fake NVML
// values follow demo::DemoTelemetry in steps of kHealthTraceStepS for kHealthTracePoints
// steps (an hour; then they stay at the last value), its time running like the seeded
// world's (one scenario second = kSeedTimeScale s).
constexpr int kTelemetryIntervalS = 5;
constexpr int kTelemetrySampleIntervalS = 5;
constexpr double kHealthTraceStepS = 10;
constexpr int kHealthTracePoints = 360;

void Say(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// First port tried for the world's UDP sockets: below the kernel's ephemeral range
// (32768-60999), so no relay's or client's ephemeral socket takes a port reserved here.
constexpr int kFirstWorldPort = 20000;
constexpr int kLastWorldPort = 32000;

// A UDP port nobody uses now (bound then released: the child binds it a moment later).
absl::StatusOr<int> FreeUdpPort() {
  static int next = kFirstWorldPort;
  for (; next < kLastWorldPort; ++next) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::UnavailableError("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(next));
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    if (ok) return next++;
  }
  return absl::ResourceExhaustedError("no free UDP port in 20000-32000 on 127.0.0.1");
}

[[maybe_unused]] absl::StatusOr<int> EphemeralUdpPort() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return absl::UnavailableError("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return absl::UnavailableError("cannot bind a UDP port on 127.0.0.1");
  }
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

absl::Status WriteText(const std::string& path, const std::string& text, mode_t mode = 0644) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::UnavailableError("cannot write " + path);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError("cannot write " + path);
    }
    off += static_cast<size_t>(n);
  }
  close(fd);
  return absl::OkStatus();
}

// A child process with stdout and stderr to `log`.
class Child {
 public:
  static absl::StatusOr<std::unique_ptr<Child>> Spawn(const std::vector<std::string>& argv,
                                                      const std::vector<std::string>& env_extra,
                                                      const std::string& log) {
    pid_t pid = fork();
    if (pid < 0) return absl::UnavailableError("fork failed");
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      for (const std::string& e : env_extra) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    auto c = std::make_unique<Child>();
    c->pid_ = pid;
    c->name_ = argv[0];
    return c;
  }
  ~Child() { Stop(SIGTERM); }
  void Stop(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    for (int i = 0; i < 50; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  bool Exited() {
    if (pid_ <= 0) return true;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = 0;
      return true;
    }
    return false;
  }

 private:
  pid_t pid_ = 0;
  std::string name_;
};

bool IsLoopback(const std::string& listen) {
  return absl::StartsWith(listen, "127.") || absl::StartsWith(listen, "localhost:") ||
         absl::StartsWith(listen, "[::1]:");
}

class Runner {
 public:
  explicit Runner(const RunnerOptions& o) : o_(o) {}
  int Run();

 private:
  absl::Status Setup();
  absl::Status StartLandmarks();
  absl::Status WriteAndStartNetem(int group);
  absl::Status StartGroup(int group);
  void StopGroup(int group);
  void AssignLicences();
  // Adds the fake NVML "telemetry" traces and "xids" of GPU `uuid`, whose agent starts
  // `started_s` real seconds into the run, to its fake NVML entry `gpu`.
  void AddHealthTrace(const std::string& uuid, double started_s, nlohmann::json* gpu) const;
  double Elapsed() const { return absl::ToDoubleSeconds(absl::Now() - t0_); }

  RunnerOptions o_;
  std::unique_ptr<World> world_;
  std::string dir_;
  std::string bin_dir_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<server::fleet::FleetMonitor> monitor_;
  SeedDirectoryResult directory_;
  std::string server_url_;
  absl::Time t0_;
  std::vector<int> landmark_ports_;
  std::map<std::pair<int, int>, int> link_ports_;  // (landmark, host) -> netem listen port
  std::vector<std::unique_ptr<Child>> landmarks_;
  std::map<int, std::unique_ptr<Child>> netem_;                  // by group
  std::map<int, std::vector<std::unique_ptr<Child>>> agents_;    // by group
  std::vector<double> added_delay_ms_;
  std::vector<double> lie_factor_;
  std::map<std::string, int64_t> licence_by_uuid_;
  absl::Time diverted_since_ = absl::InfiniteFuture();
};

absl::Status Runner::Setup() {
  if (!IsLoopback(o_.listen)) {
    return absl::InvalidArgumentError("--listen " + o_.listen + ": the demo listens on loopback only");
  }
  if (o_.speed <= 0) return absl::InvalidArgumentError("--speed must be positive");
  absl::StatusOr<Scenario> scenario =
      o_.scenario_path.empty() ? ParseScenario(BuiltinScenarioText(), kBuiltinScenarioName)
                               : LoadScenario(o_.scenario_path);
  if (!scenario.ok()) return scenario.status();
  if (o_.gpus > 0) LC_RETURN_IF_ERROR(ScaleScenario(o_.gpus, &*scenario));
  LC_ASSIGN_OR_RETURN(World world, World::Build(*scenario, LatencyModel::Default(scenario->seed)));
  world_ = std::make_unique<World>(std::move(world));
  added_delay_ms_.assign(world_->scenario().groups.size(), 0);
  lie_factor_.assign(world_->landmarks().size(), 1.0);

  if (o_.work_dir.empty()) {
    char tmpl[] = "/tmp/lightcone-demo-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return absl::UnavailableError("cannot create a work directory");
    dir_ = tmpl;
  } else {
    dir_ = o_.work_dir;
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return absl::UnavailableError("cannot create " + dir_);
  }
  std::error_code ec;
  bin_dir_ = fs::read_symlink("/proc/self/exe", ec).parent_path().string();
  if (!fs::exists(bin_dir_ + "/lightcone-agent")) {
    return absl::FailedPreconditionError(bin_dir_ + "/lightcone-agent is missing: build the lightcone_agent target");
  }
  if (!fs::exists(bin_dir_ + "/fake_nvml/libnvidia-ml.so.1")) {
    return absl::FailedPreconditionError(bin_dir_ + "/fake_nvml/libnvidia-ml.so.1 is missing: build the fake_nvml target");
  }

  server::ServerOptions so;
  so.db = "sqlite:" + dir_ + "/fleet.db";
  so.listen = o_.listen;
  so.web_root = o_.web_root;
  // Landmarks and agents keep their connections alive, each holding a worker thread.
  so.http_threads = static_cast<int>(world_->landmarks().size() + world_->hosts().size()) + 16;
  so.telemetry_sample_interval = absl::Seconds(kTelemetrySampleIntervalS);
  LC_ASSIGN_OR_RETURN(server_, server::Server::Create(so));
  t0_ = absl::Now();
  LC_ASSIGN_OR_RETURN(directory_, SeedDirectory(*server_->shared_store(), *world_, t0_));

  server::fleet::FleetMonitorOptions fo;
  // Scenario seconds over speed, but never below what the processes' real cadence allows
  // (landmarks upload a batch every kBatchWindowMs).
  auto scaled = [&](double scenario_s, double floor_s) {
    return absl::Seconds(std::max(floor_s, scenario_s / o_.speed));
  };
  const double batch_s = kBatchWindowMs / 1000.0;
  fo.verdict.window = scaled(kVerdictWindowScenarioS, 10 * batch_s);
  fo.detectors.went_dark.max_silence = scaled(kWentDarkScenarioS, 10 * batch_s);
  fo.detectors.cohort_dark.max_silence = scaled(kWentDarkScenarioS, 10 * batch_s);
  fo.detectors.cohort_dark.interval = scaled(kCohortIntervalScenarioS, 12 * batch_s);
  fo.detectors.verdicts.unproven_grace = scaled(kUnprovenGraceScenarioS, 5 * batch_s);
  // Impossible travel needs hours between estimates; in compressed time every estimate
  // wobble (a landmark's batch missing from the window) is a jump of 1000 km in a second.
  // `lightcone demo seed` (one scenario second = kSeedTimeScale s) exercises it; here it is
  // off.
  fo.detectors.travel.max_speed_kmh = kLiveMaxTravelKmh;
  fo.detectors.unlicensed.grace = scaled(kUnlicensedGraceScenarioS, 0);
  fo.verdict_refresh = scaled(kVerdictWindowScenarioS, 5 * batch_s);
  auto countries = server::fleet::CountryAreaCache::LoadDefault();
  monitor_ = std::make_unique<server::fleet::FleetMonitor>(server_->shared_store().get(), fo,
                                                           countries);
  // GET /devices/{id}/region for the dashboard, with the monitor's window.
  server::fleet::RegionViewOptions region_options;
  region_options.verdict = fo.verdict;
  std::shared_ptr<server::Store> store = server_->shared_store();
  server_->SetRegionProvider([store, region_options](int64_t device_id) {
    return server::fleet::RegionViewJson(*store, device_id, absl::Now(), region_options);
  });
  LC_RETURN_IF_ERROR(server_->Start());
  server_url_ = absl::StrCat("http://127.0.0.1:", server_->port());

  // Licences the operator assigns to enrolled devices.
  for (const WorldHost& h : world_->hosts()) {
    if (h.group->licence.empty()) continue;
    for (int id : h.identities) {
      licence_by_uuid_[world_->identities()[id].uuid] = directory_.licence_ids[h.group->licence];
    }
  }
  // Ports: one per landmark, one per (landmark, host) link.
  for (size_t l = 0; l < world_->landmarks().size(); ++l) {
    LC_ASSIGN_OR_RETURN(int p, FreeUdpPort());
    landmark_ports_.push_back(p);
  }
  for (size_t h = 0; h < world_->hosts().size(); ++h) {
    for (size_t l = 0; l < world_->landmarks().size(); ++l) {
      LC_ASSIGN_OR_RETURN(int p, FreeUdpPort());
      link_ports_[{static_cast<int>(l), static_cast<int>(h)}] = p;
    }
  }
  return absl::OkStatus();
}

absl::Status Runner::StartLandmarks() {
  for (size_t l = 0; l < world_->landmarks().size(); ++l) {
    const WorldLandmark& wl = world_->landmarks()[l];
    const std::string name = wl.spec->name;
    const std::string base = absl::StrCat(dir_, "/landmark-", name);
    LC_RETURN_IF_ERROR(WriteText(base + ".key", crypto::HexEncode(wl.key_seed) + "\n", 0600));
    LC_RETURN_IF_ERROR(
        WriteText(base + ".token", directory_.tokens["landmark_" + name].secret + "\n", 0600));
    std::string config = absl::StrFormat(
        "id = \"%s\"\nlisten = \"127.0.0.1:%d\"\nkey_file = \"%s.key\"\noutput = \"%s.jsonl\"\n"
        "interval_ms = %d\ntimeout_ms = 2000\nwindow_ms = %d\n\n[server]\nurl = \"%s\"\n"
        "token_file = \"%s.token\"\nlandmark_id = %d\nstate_dir = \"%s.state\"\n"
        "targets_poll_ms = 1000\n",
        wire::FormatId(wl.wire_id), landmark_ports_[l], base, base, o_.probe_interval_ms,
        kBatchWindowMs,
        server_url_, base, directory_.landmark_ids[l], base);
    LC_RETURN_IF_ERROR(WriteText(base + ".toml", config));
    LC_ASSIGN_OR_RETURN(auto child,
                        Child::Spawn({bin_dir_ + "/lightcone", "landmark", "run", "--config",
                                      base + ".toml"},
                                     {}, base + ".log"));
    landmarks_.push_back(std::move(child));
  }
  return absl::OkStatus();
}

absl::Status Runner::WriteAndStartNetem(int group) {
  auto it = netem_.find(group);
  if (it != netem_.end()) {
    it->second->Stop(SIGTERM);
    netem_.erase(it);
  }
  const ScenarioHostGroup& g = world_->scenario().groups[group];
  auto [first, last] = world_->GroupHosts(group);
  std::string toml = "[relay]\nspin_us = 0\n";
  for (int h = first; h < last; ++h) {
    for (size_t l = 0; l < world_->landmarks().size(); ++l) {
      PathDelay p = world_->LandmarkToHost(static_cast<int>(l), h);
      double one_way = p.one_way_ms() + added_delay_ms_[group] / 2;
      // Jitter never takes a datagram below the vacuum bound of the path.
      double jitter = std::max(0.0, std::min(p.jitter_mean_ms / 2,
                                             one_way - p.light_bound_rtt_ms / 2));
      one_way *= lie_factor_[l];
      jitter *= lie_factor_[l];
      absl::StrAppendFormat(&toml,
                            "\n[[link]]\nname = \"%s|%s\"\nlisten = \"127.0.0.1:%d\"\n"
                            "forward = \"127.0.0.1:%d\"\ndelay_ms = %.4f\njitter_ms = %.4f\n",
                            world_->landmarks()[l].spec->name, world_->hosts()[h].hostname,
                            link_ports_[{static_cast<int>(l), h}], landmark_ports_[l], one_way,
                            jitter);
    }
  }
  const std::string base = absl::StrCat(dir_, "/netem-", g.name);
  LC_RETURN_IF_ERROR(WriteText(base + ".toml", toml));
  LC_ASSIGN_OR_RETURN(auto child, Child::Spawn({bin_dir_ + "/lightcone", "netem", "--config",
                                                base + ".toml"},
                                               {}, base + ".log"));
  netem_[group] = std::move(child);
  return absl::OkStatus();
}

void Runner::AddHealthTrace(const std::string& uuid, double started_s,
                            nlohmann::json* gpu) const {
  const Scenario& sc = world_->scenario();
  const absl::Duration episode = absl::Seconds(sc.duration_s * kSeedTimeScale);
  nlohmann::json temperature = nlohmann::json::array(), power = nlohmann::json::array(),
                 utilization = nlohmann::json::array(), xids = nlohmann::json::array();
  int64_t xid_count = 0;
  for (int k = 0; k < kHealthTracePoints; ++k) {
    const double at_s = k * kHealthTraceStepS;  // since the agent loaded the fake NVML
    const double scenario_s = (started_s + at_s) * o_.speed;
    const server::Telemetry tel =
        DemoTelemetry(sc.seed, uuid, 0, t0_ + absl::Seconds(scenario_s * kSeedTimeScale), t0_,
                      episode);
    temperature.push_back({at_s, tel.temperature_c});
    power.push_back({at_s, std::llround(tel.power_w * 1000)});
    utilization.push_back({at_s, tel.utilization_pct});
    if (tel.xid_count > xid_count) {
      xids.push_back({{"at_s", at_s}, {"xid", tel.last_xid}});
      xid_count = tel.xid_count;
    }
  }
  (*gpu)["telemetry"] = {{"temperature_c", std::move(temperature)},
                         {"power_mw", std::move(power)},
                         {"utilization_gpu_pct", std::move(utilization)}};
  (*gpu)["xids"] = std::move(xids);
}

absl::Status Runner::StartGroup(int group) {
  const ScenarioHostGroup& g = world_->scenario().groups[group];
  LC_RETURN_IF_ERROR(WriteAndStartNetem(group));
  std::string org_key = "agent";
  for (size_t i = 1; i < world_->scenario().organizations.size(); ++i) {
    if (world_->scenario().organizations[i] == g.organization) {
      for (const auto& [key, t] : directory_.tokens) {
        if (t.role == "agent" && t.organization_id == directory_.organization_ids[g.organization]) {
          org_key = key;
        }
      }
    }
  }
  auto [first, last] = world_->GroupHosts(group);
  const double started_s = absl::ToDoubleSeconds(absl::Now() - t0_);
  for (int h = first; h < last; ++h) {
    const WorldHost& wh = world_->hosts()[h];
    const std::string base = absl::StrCat(dir_, "/agent-", wh.hostname);
    nlohmann::json gpus = nlohmann::json::array();
    for (size_t j = 0; j < wh.identities.size(); ++j) {
      const WorldIdentity& id = world_->identities()[wh.identities[j]];
      gpus.push_back({{"uuid", id.uuid},
                      {"serial", id.serial},
                      {"name", g.model},
                      {"architecture", 9},
                      {"pci_bus_id", id.pci_bus_id},
                      {"vbios_version", "96.00.99.00.01"},
                      {"minor_number", static_cast<int>(j)},
                      {"nvlinks", nlohmann::json::array()}});
      AddHealthTrace(id.uuid, started_s, &gpus.back());
    }
    LC_RETURN_IF_ERROR(WriteText(base + ".nvml.json", nlohmann::json{{"gpus", gpus}}.dump()));
    LC_RETURN_IF_ERROR(WriteText(base + ".token", directory_.tokens[org_key].secret + "\n", 0600));
    // Every agent runs on this one machine: each enrolls under its simulated host's name and
    // serves no /metrics (they would all want the same port).
    LC_RETURN_IF_ERROR(WriteText(
        base + ".toml",
        absl::StrCat("listen = \"127.0.0.1:0\"\nkeepalive_ms = 1000\nmetrics_listen = \"\"\n"
                     "[server]\nurl = \"", server_url_, "\"\ntelemetry_interval = ",
                     kTelemetryIntervalS, "\n")));
    std::vector<std::string> argv = {bin_dir_ + "/lightcone-agent", "--config", base + ".toml",
                                     "--server", server_url_, "--token-file", base + ".token",
                                     "--hostname", wh.hostname, "--log-level", "warn"};
    if (!g.site.empty()) {
      argv.push_back("--site");
      argv.push_back(g.site);
    }
    for (size_t l = 0; l < world_->landmarks().size(); ++l) {
      argv.push_back("--landmark");
      argv.push_back(absl::StrCat(wire::FormatId(world_->landmarks()[l].wire_id), "@127.0.0.1:",
                                  link_ports_[{static_cast<int>(l), h}]));
    }
    LC_ASSIGN_OR_RETURN(
        auto child,
        Child::Spawn(argv,
                     {"FAKE_NVML_SCENARIO=" + base + ".nvml.json",
                      "LD_LIBRARY_PATH=" + bin_dir_ + "/fake_nvml"},
                     base + ".log"));
    agents_[group].push_back(std::move(child));
  }
  return absl::OkStatus();
}

void Runner::StopGroup(int group) {
  // Dismantled: the machines are switched off, not shut down politely.
  for (auto& c : agents_[group]) c->Stop(SIGKILL);
  agents_.erase(group);
  auto it = netem_.find(group);
  if (it != netem_.end()) {
    it->second->Stop(SIGTERM);
    netem_.erase(it);
  }
}

void Runner::AssignLicences() {
  server::Store& store = *server_->shared_store();
  server::DeviceFilter f;
  f.page.limit = server::kMaxPageSize;
  while (true) {
    auto page = store.ListDevices(f);
    if (!page.ok()) return;
    for (const server::Device& listed : page->items) {
      auto it = licence_by_uuid_.find(listed.uuid);
      if (listed.licence_id != 0 || it == licence_by_uuid_.end()) continue;
      // Only devices whose key is bound get their licence: an unkeyed device cannot be
      // measured yet, and licensing it early would judge it before its first probe.
      if (listed.key.key_id.empty()) continue;
      (void)store.SetDeviceLicence(listed.id, listed.organization_id, it->second);
    }
    if (page->next_after_id == 0) break;
    f.page.after_id = page->next_after_id;
  }
}

int Runner::Run() {
  if (absl::Status st = Setup(); !st.ok()) {
    std::fprintf(stderr, "lightcone demo: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  const Scenario& s = world_->scenario();
  const double episode_real_s = s.duration_s / o_.speed;
  const double duration = o_.duration_s > 0 ? o_.duration_s
                                            : (s.duration_s + kLingerScenarioSeconds) / o_.speed;
  Say(nlohmann::json{{"demo", s.name},
                     {"dashboard", absl::StrCat("http://", o_.listen.substr(0, o_.listen.rfind(':')),
                                                ":", server_->port(), "/")},
                     {"operator_token", directory_.tokens["operator"].secret},
                     {"admin_token", directory_.tokens["admin"].secret},
                     {"work_dir", dir_},
                     {"gpus", s.TotalGpus()},
                     {"hosts", world_->hosts().size()},
                     {"landmarks", world_->landmarks().size()},
                     {"speed", o_.speed},
                     {"duration_s", duration}}
          .dump());
  if (absl::Status st = StartLandmarks(); !st.ok()) {
    std::fprintf(stderr, "lightcone demo: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  size_t next_step = 0;
  double next_pass = 0, next_status = 0;
  int exit_code = 0;
  while (Elapsed() < duration) {
    const double now_s = Elapsed();
    while (next_step < s.steps.size() && s.steps[next_step].at_s / o_.speed <= now_s) {
      const ScenarioStep& st = s.steps[next_step];
      Say(nlohmann::json{{"t_s", now_s}, {"step", next_step}, {"action", StepActionName(st.action)},
                         {"description", st.description}}
              .dump());
      absl::Status status;
      for (const std::string& name : st.groups) {
        int g = world_->GroupIndex(name);
        switch (st.action) {
          case StepAction::kStart:
            if (!s.groups[g].identities_from.empty()) {
              diverted_since_ = std::min(diverted_since_, absl::Now());
            }
            status.Update(StartGroup(g));
            break;
          case StepAction::kGoDark: StopGroup(g); break;
          case StepAction::kAddDelay:
            added_delay_ms_[g] += st.delay_ms;
            status.Update(WriteAndStartNetem(g));
            break;
          case StepAction::kLandmarkLies: break;
        }
      }
      if (st.action == StepAction::kLandmarkLies) {
        for (size_t l = 0; l < world_->landmarks().size(); ++l) {
          if (world_->landmarks()[l].spec->name == st.landmark) lie_factor_[l] = st.rtt_factor;
        }
        std::vector<int> running;
        for (const auto& [g, c] : netem_) running.push_back(g);
        for (int g : running) status.Update(WriteAndStartNetem(g));
      }
      if (!status.ok()) {
        std::fprintf(stderr, "lightcone demo: step %zu: %s\n", next_step,
                     std::string(status.message()).c_str());
        exit_code = 2;
      }
      ++next_step;
    }
    if (now_s >= next_pass) {
      AssignLicences();
      auto report = monitor_->RunPass(absl::Now());
      next_pass = now_s + kPassPeriodS;
      if (report.ok() && now_s >= next_status) {
        next_status = now_s + kStatusPeriodS;
        Say(nlohmann::json{{"t_s", now_s},
                           {"scenario_s", now_s * o_.speed},
                           {"devices", report->devices},
                           {"compliant", report->compliant},
                           {"violation", report->violation},
                           {"unproven", report->unproven},
                           {"alerts_raised", report->alerts_raised}}
                .dump());
      } else if (!report.ok()) {
        std::fprintf(stderr, "lightcone demo: fleet pass: %s\n",
                     std::string(report.status().message()).c_str());
      }
    }
    (void)episode_real_s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (void)monitor_->RunPass(absl::Now());
  SummaryOptions so;
  so.diverted_since = diverted_since_;
  absl::StatusOr<nlohmann::json> summary = BuildSummary(*server_->shared_store(), *world_, so);
  // Stop the world before printing, so nothing writes after the summary.
  for (auto& [g, list] : agents_) {
    for (auto& c : list) c->Stop(SIGTERM);
  }
  agents_.clear();
  for (auto& c : landmarks_) c->Stop(SIGTERM);
  landmarks_.clear();
  netem_.clear();
  server_->Stop();
  if (!summary.ok()) {
    std::fprintf(stderr, "lightcone demo: summary: %s\n", std::string(summary.status().message()).c_str());
    return 2;
  }
  Say(summary->dump(2));
  if (!o_.summary_out.empty()) {
    if (absl::Status st = WriteText(o_.summary_out, summary->dump(2) + "\n"); !st.ok()) {
      std::fprintf(stderr, "lightcone demo: %s\n", std::string(st.message()).c_str());
      return 2;
    }
  }
  if (exit_code != 0) return exit_code;
  return (*summary)["passed"].get<bool>() ? 0 : 1;
}

}  // namespace

int RunDemo(const RunnerOptions& options) {
  signal(SIGPIPE, SIG_IGN);
  Runner runner(options);
  return runner.Run();
}

}  // namespace lightcone::demo
