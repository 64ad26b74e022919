# The agent's /metrics HTTP request parser faces the network.
if(TARGET lightcone::agent_metrics)
  lightcone_cc_fuzz(NAME http_request_fuzz SRCS ${CMAKE_CURRENT_SOURCE_DIR}/http_request_fuzz.cc
                    DEPS lightcone::agent_metrics)
endif()
