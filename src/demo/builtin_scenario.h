// The shipped scenarios/ghost-datacenter.toml, compiled in (the default of `lightcone demo`).
#ifndef LIGHTCONE_DEMO_BUILTIN_SCENARIO_H_
#define LIGHTCONE_DEMO_BUILTIN_SCENARIO_H_

namespace lightcone::demo {

// The TOML text of scenarios/ghost-datacenter.toml at build time.
const char* BuiltinScenarioText();
inline constexpr char kBuiltinScenarioName[] = "scenarios/ghost-datacenter.toml (built in)";

}  // namespace lightcone::demo

#endif  // LIGHTCONE_DEMO_BUILTIN_SCENARIO_H_
