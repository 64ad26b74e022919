# The agent's and the landmark's parsers of the fleet server's answers (network input: a
# compromised or impersonated server must not crash them).
if(TARGET lightcone::agent_server AND TARGET lightcone::landmark)
  lightcone_cc_fuzz(NAME server_answer_fuzz SRCS ${CMAKE_CURRENT_LIST_DIR}/server_answer_fuzz.cc
                    DEPS lightcone::agent_server lightcone::landmark)
endif()
