# The fleet server's JSON request parsers face the network (src/server/api/json_mapping.h).
if(TARGET lightcone::server_api)
  lightcone_cc_fuzz(NAME server_request_fuzz SRCS ${CMAKE_CURRENT_LIST_DIR}/server_request_fuzz.cc
                    DEPS lightcone::server_api)
endif()
