#include "server/fleet/fleet_monitor.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace lightcone::server::fleet {
namespace {

template <typename T, typename Fn>
absl::StatusOr<std::vector<T>> ReadAllPages(Fn list) {
  std::vector<T> out;
  PageRequest page;
  page.limit = kMaxPageSize;
  for (;;) {
    absl::StatusOr<Page<T>> p = list(page);
    if (!p.ok()) return p.status();
    for (T& item : p->items) out.push_back(std::move(item));
    if (p->next_after_id == 0) break;
    page.after_id = p->next_after_id;
  }
  return out;
}

std::string AlertKey(const std::string& type, const std::string& dedup_key) {
  return absl::StrCat(type, "|", dedup_key);
}

}  // namespace

FleetMonitor::FleetMonitor(Store* store, const FleetMonitorOptions& options,
                           std::shared_ptr<CountryAreaCache> countries)
    : store_(store), options_(options), countries_(std::move(countries)) {
  if (countries_ == nullptr) countries_ = CountryAreaCache::LoadDefault();
  options_.threads = std::clamp(options_.threads, 1, kMaxVerdictThreads);
}

FleetMonitor::~FleetMonitor() { Stop(); }

std::optional<PassReport> FleetMonitor::last_report() const {
  absl::MutexLock lock(&mu_);
  return last_report_;
}

absl::StatusOr<PassReport> FleetMonitor::RunPass(absl::Time now) {
  absl::MutexLock pass_lock(&pass_mu_);
  const absl::Time started = absl::Now();
  PassReport report;
  report.time = now;

  // ---- Read --------------------------------------------------------------------------------
  LC_ASSIGN_OR_RETURN(std::vector<Landmark> landmarks, store_->ListLandmarks());
  LC_ASSIGN_OR_RETURN(std::vector<Licence> licences, store_->ListLicences(std::nullopt));
  LC_ASSIGN_OR_RETURN(std::vector<Host> hosts, store_->ListHosts(std::nullopt));
  LC_ASSIGN_OR_RETURN(std::vector<Site> sites, store_->ListSites(std::nullopt));
  LC_ASSIGN_OR_RETURN(std::vector<Shipment> shipments, store_->ListShipments(std::nullopt));
  LC_ASSIGN_OR_RETURN(std::vector<Device> devices, ReadAllPages<Device>([&](const PageRequest& p) {
                        DeviceFilter f;
                        f.page = p;
                        return store_->ListDevices(f);
                      }));
  LC_ASSIGN_OR_RETURN(std::vector<MinRtt> rtts,
                      store_->MinRtts(std::nullopt, now - options_.verdict.window));
  LC_ASSIGN_OR_RETURN(std::vector<Verdict> latest, store_->LatestVerdicts(std::nullopt));
  report.devices = static_cast<int64_t>(devices.size());
  report.read_duration = absl::Now() - started;

  absl::flat_hash_map<int64_t, std::pair<size_t, size_t>> rtt_range;  // device -> [begin, end)
  for (size_t i = 0; i < rtts.size();) {
    size_t j = i;
    while (j < rtts.size() && rtts[j].device_id == rtts[i].device_id) ++j;
    rtt_range[rtts[i].device_id] = {i, j};
    i = j;
  }
  absl::flat_hash_map<int64_t, const Verdict*> previous;
  for (const Verdict& v : latest) previous[v.device_id] = &v;
  FleetSnapshot snap;
  snap.now = now;

  const absl::Time identity_started = absl::Now();

  // ---- Identity and topology history of recently enrolled hosts ----------------------------
  for (const Host& h : hosts) snap.hosts[h.id] = &h;
  for (const Site& s : sites) snap.sites[s.id] = &s;
  snap.shipments = shipments;
  snap.landmarks = landmarks;
  snap.atlas = countries_->atlas();
  const absl::Time enrolled_since =
      last_pass_time_.has_value() ? *last_pass_time_ - absl::Seconds(1) : now - options_.identity_lookback;
  // Memory updates are staged and applied only when the whole pass succeeded, so a failed
  // pass re-reads the same history next time instead of losing its alerts.
  absl::flat_hash_map<int64_t, int64_t> new_event_ids;
  absl::flat_hash_map<int64_t, TopologySnapshot> new_topology;
  absl::flat_hash_map<int64_t, absl::Time> new_host_change;  // device -> latest host_changed
  for (const Device& dev : devices) {
    auto host = snap.hosts.find(dev.host_id);
    if (host == snap.hosts.end() || host->second->last_seen < enrolled_since) continue;
    ++report.devices_examined_for_identity;
    PageRequest page;
    page.limit = kMaxPageSize;
    auto ev = last_event_id_.find(dev.id);
    page.after_id = ev == last_event_id_.end() ? 0 : ev->second;
    LC_ASSIGN_OR_RETURN(Page<DeviceEvent> events, store_->ListDeviceEvents(dev.id, page));
    for (DeviceEvent& e : events.items) {
      int64_t& seen = new_event_ids[dev.id];
      seen = std::max(seen, e.id);
      if (e.kind == "host_changed") {
        absl::Time& changed = new_host_change[dev.id];
        changed = std::max(changed, e.time);
        snap.host_changes[dev.id].push_back(std::move(e));
      }
    }
    auto known = last_topology_.find(dev.id);
    page.after_id = known == last_topology_.end() ? 0 : known->second.id;
    LC_ASSIGN_OR_RETURN(Page<TopologySnapshot> topo, store_->ListTopology(dev.id, page));
    std::vector<TopologySnapshot> chain;
    if (known != last_topology_.end()) chain.push_back(known->second);
    for (TopologySnapshot& t : topo.items) chain.push_back(std::move(t));
    if (chain.size() >= 2 && chain.back().peer_uuids != chain[chain.size() - 2].peer_uuids &&
        (known == last_topology_.end() || chain.back().id != known->second.id)) {
      snap.topology_changes[dev.id] = TopologyPair{chain[chain.size() - 2], chain.back()};
    }
    if (!chain.empty()) new_topology[dev.id] = chain.back();
  }

  report.identity_duration = absl::Now() - identity_started;

  // ---- Devices that changed host within the window -----------------------------------------
  // A GPU that reappears on another host is re-proven from measurements made after the move
  // only: its old host's RTTs say where it was, not where it is. Those few devices get their
  // own MinRtts(id, since = the move) instead of their rows of the bulk query.
  const absl::Time window_start = now - options_.verdict.window;
  absl::flat_hash_map<int64_t, absl::Time> moved_at;
  for (const auto& [id, t] : last_host_change_) {
    if (t > window_start) moved_at[id] = t;
  }
  for (const auto& [id, t] : new_host_change) {
    if (t > window_start && (!moved_at.contains(id) || moved_at[id] < t)) moved_at[id] = t;
  }
  absl::flat_hash_map<int64_t, std::vector<MinRtt>> moved_rtts;
  for (const auto& [id, t] : moved_at) {
    LC_ASSIGN_OR_RETURN(moved_rtts[id], store_->MinRtts(id, t));
  }
  report.devices_moved_in_window = static_cast<int64_t>(moved_at.size());

  // ---- Geometry and verdicts ---------------------------------------------------------------
  absl::flat_hash_map<int64_t, const Licence*> licence_by_id;
  absl::flat_hash_map<int64_t, LicenceGeometry> geometry;
  for (const Licence& l : licences) {
    licence_by_id[l.id] = &l;
    geometry.emplace(l.id, BuildLicenceGeometry(l, *countries_));
  }
  VerdictEngine engine(options_.verdict, landmarks);
  snap.licences = licence_by_id;
  snap.engine = &engine;

  snap.devices.resize(devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    DeviceState& st = snap.devices[i];
    st.device = &devices[i];
    auto r = rtt_range.find(devices[i].id);
    if (auto m = moved_rtts.find(devices[i].id); m != moved_rtts.end()) {
      st.rtts = m->second;
    } else if (r != rtt_range.end()) {
      st.rtts = absl::MakeConstSpan(rtts.data() + r->second.first, r->second.second - r->second.first);
    }
    auto p = previous.find(devices[i].id);
    if (p != previous.end()) st.previous = p->second;
  }
  std::vector<Decision> decisions(devices.size());
  const absl::Time verdicts_started = absl::Now();
  auto work = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const DeviceState& st = snap.devices[i];
      DeviceInput in;
      in.device = st.device;
      in.rtts = st.rtts;
      in.previous = st.previous;
      if (st.device->licence_id != 0) {
        auto l = licence_by_id.find(st.device->licence_id);
        if (l != licence_by_id.end()) {
          in.licence = l->second;
          in.geometry = &geometry.at(l->first);
        }
      }
      decisions[i] = engine.Decide(in, now);
    }
  };
  {
    const size_t n = devices.size();
    const size_t threads = std::min<size_t>(options_.threads, std::max<size_t>(1, n / 256));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) {
      pool.emplace_back(work, n * t / threads, n * (t + 1) / threads);
    }
    work(0, threads <= 1 ? n : n / threads);
    for (std::thread& th : pool) th.join();
  }
  report.verdict_duration = absl::Now() - verdicts_started;

  const absl::Time write_started = absl::Now();
  std::vector<Verdict> to_write;
  for (size_t i = 0; i < devices.size(); ++i) {
    DeviceState& st = snap.devices[i];
    st.decision = &decisions[i];
    const Decision& d = decisions[i];
    st.last_heard = st.device->last_seen;
    if (d.last_measurement.has_value() && *d.last_measurement > *st.last_heard) {
      st.last_heard = d.last_measurement;
    }
    switch (d.verdict.status) {
      case VerdictStatus::kCompliant: ++report.compliant; break;
      case VerdictStatus::kViolation: ++report.violation; break;
      case VerdictStatus::kUnproven: ++report.unproven; break;
    }
    const Verdict* prev = st.previous;
    if (prev == nullptr || prev->status != d.verdict.status || prev->reason != d.verdict.reason ||
        prev->licence_id != d.verdict.licence_id ||
        now - prev->time >= options_.verdict_refresh) {
      to_write.push_back(d.verdict);
    }
  }
  for (size_t i = 0; i < to_write.size(); i += kVerdictWriteChunk) {
    const size_t end = std::min(to_write.size(), i + kVerdictWriteChunk);
    LC_RETURN_IF_ERROR(store_->AppendVerdicts(
        std::vector<Verdict>(to_write.begin() + i, to_write.begin() + end)));
  }
  report.verdicts_written = static_cast<int64_t>(to_write.size());
  report.write_duration = absl::Now() - write_started;

  // ---- Detectors and alerts ----------------------------------------------------------------
  const absl::Time detect_started = absl::Now();
  std::vector<Finding> findings = RunDetectors(snap, options_.detectors);

  struct Existing {
    int64_t id;
    std::string type;
  };
  absl::flat_hash_map<std::string, Existing> existing;
  std::vector<CohortSpan> cohorts;  // Open / acknowledged cohort_dark alerts and new ones.
  for (AlertState state : {AlertState::kOpen, AlertState::kAcknowledged}) {
    LC_ASSIGN_OR_RETURN(std::vector<Alert> alerts, ReadAllPages<Alert>([&](const PageRequest& p) {
                          AlertFilter f;
                          f.state = state;
                          f.page = p;
                          return store_->ListAlerts(f);
                        }));
    for (const Alert& a : alerts) {
      auto evidence = nlohmann::json::parse(a.evidence_json, nullptr, false);
      if (evidence.is_discarded() || !evidence.is_object()) continue;
      auto key = evidence.find("dedup_key");
      if (key == evidence.end() || !key->is_string()) continue;
      existing.emplace(AlertKey(a.type, key->get<std::string>()), Existing{a.id, a.type});
      if (a.type == kCohortDark) {
        if (auto span = ParseCohortSpan(a.evidence_json)) cohorts.push_back(*span);
      }
    }
  }
  absl::flat_hash_set<std::string> firing;
  for (Finding& f : findings) {
    const std::string key = AlertKey(f.alert.type, f.key);
    if (!firing.insert(key).second || existing.contains(key)) continue;
    if (f.alert.type == kCohortDark) {
      // One cohort, one alert: its first_dark may have moved since it was raised.
      auto span = ParseCohortSpan(f.alert.evidence_json);
      if (span.has_value()) {
        const absl::Duration interval = options_.detectors.cohort_dark.interval;
        if (std::any_of(cohorts.begin(), cohorts.end(),
                        [&](const CohortSpan& c) { return SameCohort(c, *span, interval); })) {
          continue;
        }
        cohorts.push_back(*span);
      }
    }
    Alert alert = CompleteAlert(f);
    alert.created_at = now;
    alert.state = AlertState::kOpen;
    LC_ASSIGN_OR_RETURN(Alert created, store_->CreateAlert(alert));
    ++report.alerts_raised;
    ++report.raised_by_type[created.type];
    if (alert.type == kLandmarkInconsistent && options_.detectors.landmarks.flag_landmark) {
      auto evidence = nlohmann::json::parse(alert.evidence_json, nullptr, false);
      const int64_t landmark_id = evidence.value("landmark_id", int64_t{0});
      absl::StatusOr<Landmark> l = store_->GetLandmark(landmark_id);
      if (l.ok() && l->status == LandmarkStatus::kActive) {
        l->status = LandmarkStatus::kFlagged;
        l->status_reason = alert.subject;
        LC_RETURN_IF_ERROR(store_->UpdateLandmark(*l));
      }
    }
  }
  for (const auto& [key, alert] : existing) {
    if (!IsResolvableAlertType(alert.type) || firing.contains(key)) continue;
    absl::Status resolved = store_->ResolveAlert(alert.id, now);
    if (!resolved.ok() && !absl::IsFailedPrecondition(resolved)) return resolved;
    ++report.alerts_resolved;
  }

  for (const auto& [id, event_id] : new_event_ids) last_event_id_[id] = event_id;
  for (auto& [id, snapshot] : new_topology) last_topology_[id] = std::move(snapshot);
  for (const auto& [id, t] : new_host_change) {
    absl::Time& known = last_host_change_[id];
    known = std::max(known, t);
  }
  // Moves older than the window no longer matter.
  absl::erase_if(last_host_change_, [&](const auto& kv) { return kv.second <= window_start; });
  last_pass_time_ = now;
  report.detect_duration = absl::Now() - detect_started;

  if (options_.telemetry_retention > absl::ZeroDuration()) {
    // Housekeeping: a failure here is logged and retried next pass; it does not undo the
    // verdicts and alerts this pass already wrote.
    absl::StatusOr<int64_t> deleted =
        store_->DeleteTelemetrySamplesBefore(now - options_.telemetry_retention);
    if (deleted.ok()) {
      report.telemetry_samples_deleted = *deleted;
    } else {
      Logger("fleet")->warn("pruning old telemetry samples: {}", deleted.status().ToString());
    }
  }
  report.duration = absl::Now() - started;
  {
    absl::MutexLock lock(&mu_);
    last_report_ = report;
  }
  return report;
}

void FleetMonitor::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void FleetMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void FleetMonitor::Loop() {
  auto log = Logger("fleet");
  for (;;) {
    const absl::Time start = absl::Now();
    absl::StatusOr<PassReport> r = RunPass(start);
    if (!r.ok()) {
      log->error("fleet pass failed: {}", r.status().ToString());
    } else {
      log->info("fleet pass: {} devices ({} compliant, {} violation, {} unproven), {} verdicts "
                "written, {} alerts raised, {} resolved in {}",
                r->devices, r->compliant, r->violation, r->unproven, r->verdicts_written,
                r->alerts_raised, r->alerts_resolved, absl::FormatDuration(r->duration));
    }
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = start + options_.period;
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    mu_.AwaitWithDeadline(absl::Condition(&stopped), deadline);
    if (stop_) return;
  }
}

}  // namespace lightcone::server::fleet
