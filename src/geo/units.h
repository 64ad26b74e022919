// Physical constants and unit conversions of the location engine. Everything that turns a
// round-trip time into a distance goes through here, so the proof's one assumption (nothing
// travels faster than light in vacuum) has a single home.
#ifndef LIGHTCONE_GEO_UNITS_H_
#define LIGHTCONE_GEO_UNITS_H_

#include "s2/s1angle.h"
#include "s2/s1chord_angle.h"
#include "s2/s2earth.h"

namespace lightcone::geo {

// Speed of light in vacuum, km per millisecond (299,792.458 km/s).
inline constexpr double kLightKmPerMs = 299.792458;
// One-way distance light covers per millisecond of round trip: 149.896 km.
inline constexpr double kVacuumKmPerRttMs = kLightKmPerMs / 2.0;
// Mean Earth radius used throughout (S2Earth's).
inline constexpr double kEarthRadiusKm = 6371.01;

// The largest great-circle distance consistent with a round trip of `rtt_ms` at vacuum light
// speed: the radius of the sound cap. REQUIRES: rtt_ms >= 0.
inline S1Angle MaxDistanceForRtt(double rtt_ms) {
  return S1Angle::Radians(rtt_ms * kVacuumKmPerRttMs / kEarthRadiusKm);
}

inline S1Angle KmToAngle(double km) { return S1Angle::Radians(km / kEarthRadiusKm); }
inline double AngleToKm(S1Angle a) { return a.radians() * kEarthRadiusKm; }

// The smallest RTT light allows over a great-circle distance.
inline double MinRttMsForDistance(S1Angle distance) {
  return AngleToKm(distance) / kVacuumKmPerRttMs;
}

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_UNITS_H_
