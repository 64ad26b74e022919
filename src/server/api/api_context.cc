#include "server/api/api_context.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace lightcone::server::api {

WorkPool::WorkPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { Loop(); });
}

WorkPool::~WorkPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void WorkPool::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void WorkPool::ParallelFor(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  // Shared state lives on this stack frame; we wait for every claimed task below.
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::mutex done_mu;
  std::condition_variable done_cv;
  auto run = [&] {
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      fn(i);
      if (done.fetch_add(1) + 1 == n) {
        std::lock_guard<std::mutex> lock(done_mu);
        done_cv.notify_all();
      }
    }
  };
  const int helpers = std::min<int>(workers_.size(), n - 1);
  std::atomic<int> helpers_left{helpers};
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int h = 0; h < helpers; ++h) {
      queue_.push_back([&] {
        run();
        // Under the lock: the caller may return (ending these locals) once it sees 0.
        std::lock_guard<std::mutex> lock2(done_mu);
        helpers_left.fetch_sub(1);
        done_cv.notify_all();
      });
    }
  }
  cv_.notify_all();
  run();
  std::unique_lock<std::mutex> lock(done_mu);
  done_cv.wait(lock, [&] { return done.load() == n && helpers_left.load() == 0; });
}

absl::StatusOr<DeviceKeyCache::Entry> DeviceKeyCache::Lookup(const wire::Id& id, bool refresh) {
  const absl::Time now = absl::Now();
  if (!refresh) {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(id);
    if (it != cache_.end() && now - it->second.fetched_at < ttl_) return it->second;
  }
  const std::string uuid = absl::StrCat("GPU-", wire::FormatId(id));
  absl::StatusOr<Device> device = store_->GetDeviceByUuid(uuid);
  if (!device.ok()) return device.status();
  Entry entry;
  entry.device_id = device->id;
  entry.organization_id = device->organization_id;
  entry.fetched_at = now;
  if (device->key.public_key.size() == crypto::kPublicKeyBytes) {
    entry.has_key = true;
    std::copy(device->key.public_key.begin(), device->key.public_key.end(),
              entry.public_key.begin());
    absl::StatusOr<crypto::KeyId> key_id = crypto::ParseKeyId(device->key.key_id);
    entry.key_id = key_id.ok() ? *key_id : crypto::ComputeKeyId(entry.public_key);
  }
  if (device->previous_key.public_key.size() == crypto::kPublicKeyBytes) {
    entry.has_previous_key = true;
    std::copy(device->previous_key.public_key.begin(), device->previous_key.public_key.end(),
              entry.previous_public_key.begin());
    absl::StatusOr<crypto::KeyId> key_id = crypto::ParseKeyId(device->previous_key.key_id);
    entry.previous_key_id =
        key_id.ok() ? *key_id : crypto::ComputeKeyId(entry.previous_public_key);
    entry.previous_superseded_at = device->previous_key.superseded_at;
  }
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxCachedDeviceKeys) cache_.clear();
  cache_[id] = entry;
  return entry;
}

void DeviceKeyCache::Invalidate(const std::string& uuid) {
  absl::StatusOr<wire::Id> id = wire::ParseId(uuid);
  if (!id.ok()) return;
  absl::MutexLock lock(&mu_);
  cache_.erase(*id);
}

std::optional<int64_t> ScopeOf(const http::Principal& p) {
  if (p.role == Role::kOperator || p.role == Role::kAgent) return p.organization_id;
  return std::nullopt;
}

absl::Status CheckScope(const http::Principal& p, int64_t org, const std::string& what) {
  const std::optional<int64_t> scope = ScopeOf(p);
  if (scope.has_value() && *scope != org) {
    return absl::NotFoundError(absl::StrCat(what, ": not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> VisibleSince(ApiContext* ctx, const http::Principal& p,
                                        int64_t device_id) {
  const std::optional<int64_t> scope = ScopeOf(p);
  if (!scope.has_value()) return absl::InfinitePast();
  // The same rule, and query, as GET /devices uses for a page: one query, not a read of every
  // event of the device.
  absl::StatusOr<std::vector<DeviceEntry>> moved =
      ctx->store->ListDevicesMovedIn(*scope, device_id, device_id);
  if (!moved.ok()) return moved.status();
  return moved->empty() ? absl::InfinitePast() : moved->front().entered_at;
}

absl::StatusOr<int64_t> ParseIdText(const std::string& text, const std::string& what) {
  int64_t id = 0;
  if (!absl::SimpleAtoi(text, &id) || id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": '", text.substr(0, 64),
                                                   "' is not a positive integer id"));
  }
  return id;
}

absl::StatusOr<std::optional<int64_t>> QueryId(const Request& req, const std::string& name) {
  std::optional<std::string> v = req.Query(name);
  if (!v.has_value() || v->empty()) return std::optional<int64_t>();
  int64_t id = 0;
  if (!absl::SimpleAtoi(*v, &id) || id < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("?", name, ": '", v->substr(0, 64), "' is not a non-negative integer"));
  }
  return std::optional<int64_t>(id);
}

absl::StatusOr<std::optional<absl::Time>> QueryTime(const Request& req, const std::string& name) {
  std::optional<std::string> v = req.Query(name);
  if (!v.has_value() || v->empty()) return std::optional<absl::Time>();
  absl::StatusOr<absl::Time> t = ParseApiTime(*v);
  if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("?", name, ": ", t.status().message()));
  return std::optional<absl::Time>(*t);
}

absl::StatusOr<TimeRange> QueryTimeRange(const Request& req, absl::Duration default_window) {
  absl::StatusOr<std::optional<absl::Time>> since = QueryTime(req, "since");
  if (!since.ok()) return since.status();
  absl::StatusOr<std::optional<absl::Time>> until = QueryTime(req, "until");
  if (!until.ok()) return until.status();
  TimeRange range;
  range.until = until->value_or(absl::Now());
  range.since = since->value_or(range.until - default_window);
  if (range.since > range.until) {
    return absl::InvalidArgumentError(
        absl::StrCat("?since: ", ApiTime(range.since), " is after ?until ", ApiTime(range.until)));
  }
  return range;
}

absl::StatusOr<PageRequest> QueryPage(const Request& req) {
  PageRequest page;
  absl::StatusOr<std::optional<int64_t>> after = QueryId(req, "after_id");
  if (!after.ok()) return after.status();
  page.after_id = after->value_or(0);
  absl::StatusOr<std::optional<int64_t>> limit = QueryId(req, "limit");
  if (!limit.ok()) return limit.status();
  if (limit->has_value()) {
    if (**limit < 1 || **limit > kMaxListLimit) {
      return absl::InvalidArgumentError(
          absl::StrCat("?limit: must be in [1, ", kMaxListLimit, "]"));
    }
    page.limit = static_cast<int>(**limit);
  } else {
    page.limit = kDefaultPageSize;
  }
  return page;
}

Response PageResponse(Json items, int64_t next_after_id) {
  Json body = {{"items", std::move(items)}, {"next_after_id", next_after_id}};
  return Response::Json(body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Response JsonOk(const Json& body, int status) {
  return Response::Json(body.dump(-1, ' ', false, Json::error_handler_t::replace), status);
}

absl::StatusOr<std::string> CanonicalUuid(const std::string& text) {
  absl::StatusOr<wire::Id> id = wire::ParseId(text);
  if (!id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text.substr(0, 64), "' is not a GPU UUID (GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"));
  }
  return absl::StrCat("GPU-", wire::FormatId(*id));
}

absl::StatusOr<std::vector<Device>> AllDevices(Store& store, DeviceFilter filter) {
  std::vector<Device> out;
  filter.page.after_id = 0;
  filter.page.limit = kMaxPageSize;
  for (;;) {
    absl::StatusOr<Page<Device>> page = store.ListDevices(filter);
    if (!page.ok()) return page.status();
    for (Device& d : page->items) out.push_back(std::move(d));
    if (page->next_after_id == 0) break;
    filter.page.after_id = page->next_after_id;
  }
  return out;
}

absl::StatusOr<std::vector<Alert>> AllAlerts(Store& store, AlertFilter filter) {
  std::vector<Alert> out;
  filter.page.after_id = 0;
  filter.page.limit = kMaxPageSize;
  for (;;) {
    absl::StatusOr<Page<Alert>> page = store.ListAlerts(filter);
    if (!page.ok()) return page.status();
    for (Alert& a : page->items) out.push_back(std::move(a));
    if (page->next_after_id == 0) break;
    filter.page.after_id = page->next_after_id;
  }
  return out;
}

}  // namespace lightcone::server::api
