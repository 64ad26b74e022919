#include "core/csv.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"

namespace lightcone {

absl::StatusOr<CsvTable> CsvTable::ReadFile(const std::string& path,
                                            const std::vector<std::string>& required_columns) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return Parse(buffer.str(), path, required_columns);
}

absl::StatusOr<CsvTable> CsvTable::Parse(std::string_view text, const std::string& path,
                                         const std::vector<std::string>& required_columns) {
  CsvTable table;
  table.path_ = path;
  int line_no = 0;
  bool have_header = false;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    if (line.size() > kMaxCsvLineBytes) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": line longer than ",
                                                     kMaxCsvLineBytes, " bytes"));
    }
    absl::ConsumeSuffix(&line, "\r");
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<std::string> fields;
    for (absl::string_view f : absl::StrSplit(line, ',')) {
      fields.emplace_back(absl::StripAsciiWhitespace(f));
    }
    if (!have_header) {
      table.header_ = std::move(fields);
      have_header = true;
      for (const auto& col : required_columns) {
        if (table.Column(col) < 0) {
          return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no,
                                                         ": missing column '", col, "' in header"));
        }
      }
      continue;
    }
    if (fields.size() != table.header_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": expected ",
                                                     table.header_.size(), " fields, found ",
                                                     fields.size()));
    }
    if (table.rows_.size() >= kMaxCsvRows) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": more than ", kMaxCsvRows, " rows"));
    }
    table.rows_.push_back(CsvRow{line_no, std::move(fields)});
  }
  if (!have_header) return absl::InvalidArgumentError(absl::StrCat(path, ": file is empty"));
  if (table.rows_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no data rows after the header"));
  }
  return table;
}

int CsvTable::Column(std::string_view name) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

const std::string& CsvTable::Text(const CsvRow& row, std::string_view column) const {
  return row.fields[Column(column)];
}

std::string CsvTable::Where(const CsvRow& row) const { return absl::StrCat(path_, ":", row.line, ": "); }

absl::StatusOr<double> CsvTable::Double(const CsvRow& row, std::string_view column) const {
  int c = Column(column);
  if (c < 0) return absl::InvalidArgumentError(absl::StrCat(path_, ": no column '", std::string(column), "'"));
  const std::string& field = row.fields[c];
  double value = 0;
  if (field.empty() || !absl::SimpleAtod(field, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(row), "column '", std::string(column), "': '", field, "' is not a number"));
  }
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(row), "column '", std::string(column), "': '", field, "' is not finite"));
  }
  return value;
}

}  // namespace lightcone
