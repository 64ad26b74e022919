// `lightcone locate`: the location engine over a latency dataset (hosts.csv + rtts.csv).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "geo/area_index.h"
#include "geo/country_atlas.h"
#include "geo/dataset.h"
#include "geo/estimator.h"
#include "geo/locate.h"
#include "geo/units.h"

namespace lightcone::cli {
namespace {

struct LocateFlags {
  std::string hosts, rtts, method = "best", prove_outside, out, atlas;
  bool leave_one_out = false;
  int robust = 0;
  double border_margin_km = geo::kCountryBorderMarginKm;
};

int RunLocate(const LocateFlags& flags) {
  geo::LocateOptions options;
  options.leave_one_out = flags.leave_one_out;
  options.robustness = flags.robust;
  if (flags.method == "best") {
    options.method = geo::EstimateMethod::kBest;
  } else if (flags.method == "cbg") {
    options.method = geo::EstimateMethod::kCbg;
  } else if (flags.method == "shortest-ping") {
    options.method = geo::EstimateMethod::kShortestPing;
  } else {
    std::fprintf(stderr, "lightcone locate: --method '%s': expected best, cbg or shortest-ping\n",
                 flags.method.c_str());
    return 2;
  }
  if (!(flags.border_margin_km >= 0)) {
    std::fprintf(stderr, "lightcone locate: --border-margin-km must be >= 0\n");
    return 2;
  }
  if (flags.robust < 0) {
    std::fprintf(stderr, "lightcone locate: --robust %d: must be >= 0\n", flags.robust);
    return 2;
  }

  auto dataset = geo::Dataset::Load(flags.hosts, flags.rtts);
  if (!dataset.ok()) {
    std::fprintf(stderr, "lightcone locate: %s\n", std::string(dataset.status().message()).c_str());
    return 2;
  }

  std::unique_ptr<geo::AreaIndex> prove_outside;
  if (!flags.prove_outside.empty()) {
    auto codes = geo::ParseCountrySet(flags.prove_outside);
    if (!codes.ok()) {
      std::fprintf(stderr, "lightcone locate: --prove-outside: %s\n",
                   std::string(codes.status().message()).c_str());
      return 2;
    }
    auto atlas = flags.atlas.empty() ? geo::CountryAtlas::LoadDefault()
                                     : geo::CountryAtlas::Load(flags.atlas);
    if (!atlas.ok()) {
      std::fprintf(stderr, "lightcone locate: country borders: %s\n",
                   std::string(atlas.status().message()).c_str());
      return 2;
    }
    auto polygon = atlas->Union(*codes);
    if (!polygon.ok()) {
      std::fprintf(stderr, "lightcone locate: --prove-outside: %s\n",
                   std::string(polygon.status().message()).c_str());
      return 2;
    }
    prove_outside = std::make_unique<geo::AreaIndex>(*std::move(polygon),
                                                     geo::KmToAngle(flags.border_margin_km));
    options.prove_outside_codes = *codes;
  }

  auto estimator = geo::Estimator::Fit(*dataset);
  if (!estimator.ok()) {
    std::fprintf(stderr, "lightcone locate: calibration: %s\n",
                 std::string(estimator.status().message()).c_str());
    return 2;
  }
  auto report = geo::RunLocate(*dataset, *estimator, prove_outside.get(), options);
  if (!report.ok()) {
    std::fprintf(stderr, "lightcone locate: %s\n", std::string(report.status().message()).c_str());
    return 2;
  }
  if (report->targets.empty()) {
    std::fprintf(stderr,
                 "lightcone locate: no targets: every host in %s has a position "
                 "(use --leave-one-out to evaluate on them)\n",
                 flags.hosts.c_str());
    return 2;
  }
  const nlohmann::json json = geo::ToJson(*report);
  if (!flags.out.empty()) {
    std::ofstream out(flags.out);
    out << json.dump(2) << '\n';
    if (!out) {
      std::fprintf(stderr, "lightcone locate: --out %s: cannot write\n", flags.out.c_str());
      return 2;
    }
  }
  std::cout << geo::FormatSummaryTable(*report);
  return 0;
}

}  // namespace

void AddLocateCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<LocateFlags>();
  auto* sub = app.add_subcommand("locate", "Prove and estimate positions from a latency dataset");
  sub->add_option("--hosts", flags->hosts, "hosts.csv: id,lat,lon,country,city")->required();
  sub->add_option("--rtts", flags->rtts, "rtts.csv: landmark,target,rtt_ms")->required();
  sub->add_flag("--leave-one-out", flags->leave_one_out,
                "Locate every positioned host from all the others (evaluation)");
  sub->add_option("--method", flags->method, "best, cbg or shortest-ping")->capture_default_str();
  sub->add_option("--prove-outside", flags->prove_outside,
                  "ISO 3166-1 alpha-2 set, e.g. CN,HK,MO: report whether each region is "
                  "proven to lie outside it");
  sub->add_option("--robust", flags->robust, "f: tolerate f dishonest landmarks in proofs")
      ->capture_default_str();
  sub->add_option("--border-margin-km", flags->border_margin_km,
                  "Proofs about countries hold this far past the (generalized) borders")
      ->capture_default_str();
  sub->add_option("--out", flags->out, "Write the full JSON result here");
  sub->add_option("--atlas", flags->atlas, "Country borders file (default: the bundled one)");
  sub->callback([flags, exit_code] { *exit_code = RunLocate(*flags); });
}

}  // namespace lightcone::cli
