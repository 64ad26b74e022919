# Fuzz targets of src/attest. Corpus: fuzz/corpus/attest_report_fuzz/ (real NVIDIA reports
# as raw bytes, plus any crash regressions).
lightcone_cc_fuzz(NAME attest_report_fuzz SRCS attest_report_fuzz.cc DEPS lightcone::attest)
