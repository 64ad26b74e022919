// A strict reader for the small comma-separated files Lightcone takes as input
// (hosts.csv, rtts.csv, licence imports). No quoting: fields may not contain commas.
// Every error names the file, the line and the problem.
#ifndef LIGHTCONE_CORE_CSV_H_
#define LIGHTCONE_CORE_CSV_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace lightcone {

inline constexpr size_t kMaxCsvLineBytes = 64 * 1024;
inline constexpr size_t kMaxCsvRows = 20'000'000;

struct CsvRow {
  int line = 0;  // 1-based line number in the file.
  std::vector<std::string> fields;
};

// A parsed file: header and rows, each row with exactly as many fields as the header.
// Copyable value type.
class CsvTable {
 public:
  // Reads `path`. Fails (InvalidArgument / NotFound) on a missing file, an empty file,
  // a missing required column, a row with the wrong field count or an over-long line.
  static absl::StatusOr<CsvTable> ReadFile(const std::string& path,
                                           const std::vector<std::string>& required_columns);
  // Same, from text already in memory; `path` is used in messages only.
  static absl::StatusOr<CsvTable> Parse(std::string_view text, const std::string& path,
                                        const std::vector<std::string>& required_columns);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& header() const { return header_; }
  const std::vector<CsvRow>& rows() const { return rows_; }

  // Index of `name` in the header, or -1.
  int Column(std::string_view name) const;

  // Field `column` of `row` parsed as a finite double; the error names file, line, column.
  absl::StatusOr<double> Double(const CsvRow& row, std::string_view column) const;
  // Field `column` of `row` as text (trimmed).
  const std::string& Text(const CsvRow& row, std::string_view column) const;

  // "path:line: " prefix for messages about `row`.
  std::string Where(const CsvRow& row) const;

 private:
  std::string path_;
  std::vector<std::string> header_;
  std::vector<CsvRow> rows_;
};

}  // namespace lightcone

#endif  // LIGHTCONE_CORE_CSV_H_
