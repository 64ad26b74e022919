// Headline figures of a benchmark run. A benchmark calls ReportFigure for each figure it
// stands for; the figures are appended as JSON lines to the file named by the environment
// variable LIGHTCONE_FIGURES (stdout when unset). scripts/run-benchmarks merges them into
// build/bench/results.json.
#ifndef LIGHTCONE_BENCH_FIGURES_H_
#define LIGHTCONE_BENCH_FIGURES_H_

#include <string>

namespace lightcone::bench {

void ReportFigure(const std::string& name, double value, const std::string& unit,
                  bool higher_is_better);

}  // namespace lightcone::bench

#endif  // LIGHTCONE_BENCH_FIGURES_H_
