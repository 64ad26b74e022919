# The timed-challenge wire codec (src/core/wire.h): every decoder on arbitrary bytes.
lightcone_cc_fuzz(NAME wire_codec_fuzz SRCS ${CMAKE_CURRENT_LIST_DIR}/wire_codec_fuzz.cc
                  DEPS lightcone::wire)
